"""PartyBuildingModel: grassroots party organisations as a system (DESIGN §3-§6).

An agent-based formalisation of the paper "four dimensions of improving grassroots party
building as a system" (``shared/seed``): who does party building (committees, work
departments, branches), strong foundations (coverage, embedding, integration of out-of-system
members), integration with the unit's business, and openness to new strata, social
organisations and the masses. The published models each mechanism rests on are named in its
module: Friedkin and Johnsen (1990) with Deffuant et al. (2000) for enculturation; Granovetter
(1978), Watts (2002), Brummitt, Lee and Goh (2012) and Epstein (2002) for mobilization;
Holmstrom and Milgrom (1991) for burden. ``docs/ODD.md`` describes the whole model.

People's state lives in arrays owned by the model (struct of arrays); ``Member`` and ``Mass``
agents are views over them. Every weekly mechanism is a vectorised kernel over those arrays and
the sparse network layers. One seed feeds every random draw through ``numpy.random.SeedSequence``.

Example:
    >>> import sim
    >>> model = sim.PartyBuildingModel.from_config(sim.load_config(["model.people=500"]), rng=1)
    >>> model.run_for(10)
    >>> sorted(model.outcomes())[:2]
    ['burden', 'cohesion']
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from sim.agents import Branch, Committee, Mass, Member, SocialOrg, WorkDepartment
from sim.assessment import (
    allocate_capacity,
    assessment_demand,
    branch_capacity,
    paperwork_hours,
)
from sim.commitment import life_quality, update_commitment
from sim.embedding import model_load
from sim.enculturation import BoundedConfidenceOperator, friedkin_johnsen_step, open_activity_pull
from sim.fusion import (
    LEARNING_MODES,
    business_performance,
    code_learning,
    initial_effort,
    observed_effect,
    performance,
    unit_performance,
)
from sim.mobilization import layer_degrees, threshold_cascade
from sim.outcomes import OUTCOME_COLUMNS, compute_outcomes
from sim.params import Config, ModelParams, PolicyParams
from sim.recruitment import Recruitment
from sim.sensing import (
    ReportChannel,
    allocate_support,
    branch_need,
    mean_or_nan,
    mean_report,
    noisy_report,
    perceive,
    sensing_error,
)
from sim.service import LAYERS, MemberReach, image_update, resolve_needs
from sim.social_change import SocialChange
from sim.social_orgs import OrgBridge
from sim.world import (
    COMMUNITY,
    DEPARTMENT_KINDS,
    ENTERPRISE,
    JOINT,
    ONLINE,
    PLATFORM,
    PLATFORM_BRANCH,
    UNIT,
    World,
    at_branch,
    build_world,
)


def _beta(rng: np.random.Generator, mean: float, concentration: float, n: int) -> np.ndarray:
    """Beta draws with the given mean and concentration (a + b)."""
    mean = min(max(mean, 1e-6), 1 - 1e-6)
    return rng.beta(mean * concentration, (1 - mean) * concentration, n)


class PartyBuildingModel(mesa.Model):
    """The simulator: a synthetic society, its party organisation and the weekly mechanisms.

    Args:
        params: the society, the organisation's rules and behavioural constants.
        policy: the policy levers.
        rng: root seed (an int); every random draw derives from it.
        scenario: label carried into results (defaults to the policy's name).
    """

    def __init__(
        self,
        params: ModelParams | None = None,
        policy: PolicyParams | None = None,
        rng: int | None = None,
        scenario: str | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self.params = params if params is not None else ModelParams()
        self.policy = policy if policy is not None else PolicyParams()
        self.scenario_name = scenario or self.policy.name
        self.seed = int(self._seed)
        # one root seed, independent streams for world, network and dynamics
        world_ss, network_ss, dynamics_ss = np.random.SeedSequence(self.seed).spawn(3)
        self.rng = np.random.default_rng(dynamics_ss)
        self.world: World = build_world(
            self.params,
            self.policy,
            np.random.default_rng(world_ss),
            np.random.default_rng(network_ss),
        )
        self._init_state()
        self._init_agents()
        self._build_operators()
        # §5.1 social change, §5.8 recruitment, §5.9 social organisations (their own modules)
        self.social_change = SocialChange(self)
        self.recruitment = Recruitment(self)
        self.orgs = OrgBridge(self)
        self.load = np.zeros(self.world.people)
        self.week = 0
        self._outcomes: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m._outcomes[k]) for k in OUTCOME_COLUMNS}
        )

    @classmethod
    def from_config(cls, cfg: Config, rng: int | None = None) -> PartyBuildingModel:
        """Build from a validated :class:`sim.params.Config` (``rng`` overrides ``cfg.seed``)."""
        seed = cfg.seed if rng is None else rng
        return cls(cfg.model, cfg.policy, rng=seed, scenario=cfg.scenario)

    # ------------------------------------------------------------------ set-up
    def _init_state(self) -> None:
        """Per-person and per-branch arrays (the model's struct of arrays)."""
        p, w, rng = self.params, self.world, self.rng
        n = w.people
        self.member = w.member.copy()
        self.home_branch = w.home_branch.copy()
        self.dual_registered = w.dual_registered.copy()
        x = _beta(rng, p.init_identification, p.init_concentration, n)
        c = _beta(rng, p.init_commitment, p.init_concentration, n)
        # identification for a mass, commitment for a member: one array, read by role
        # float32 halves the memory traffic of the edge-level kernels
        self.x = np.where(self.member, c, x).astype(np.float32)
        self.x0 = self.x.copy()
        # start at the share of needs that arising and lapsing alone would keep
        arise_or_end = p.need_rate + p.need_lapse
        self.need = rng.random(n) < (p.need_rate / arise_or_end if arise_or_end > 0 else 0.0)
        self.private_need = rng.random(n) < p.private_need_share
        self.threshold = rng.normal(p.threshold_mean, p.threshold_sd, n)
        self.active = np.zeros(n, bool)
        self.reached = np.zeros(n, bool)
        self.met = np.zeros(n, bool)
        self.met_view = np.zeros(n)
        # social organisations: partnered with probability policy.social_org_partnership (§5.9)
        n_org = w.org_members.shape[1]
        self.org_partnered = rng.random(n_org) < self.policy.lever("social_org_partnership")
        self.partnered_person = (w.org_members @ self.org_partnered.astype(np.float32)) > 0
        self.out_of_system = (w.sector == ENTERPRISE) | (w.sector == PLATFORM)
        self._count_branches()
        self._init_subject_fusion()

    def _count_branches(self) -> None:
        nb = self.world.branches
        hb = self.home_branch[self.member]
        self.branch_members = np.bincount(hb[hb >= 0], minlength=nb).astype(float)
        self.branch_capacity = branch_capacity(
            self.branch_members, self.params.hours_base, self.params.hours_per_member
        )
        self.branch_burden = np.zeros(nb)
        self.branch_service = np.zeros(nb)
        self.branch_life = np.zeros(nb)
        self.branch_business = np.zeros(nb)

    def _init_agents(self) -> None:
        """Mesa agents: the hierarchy, branches, social organisations and people (views)."""
        w = self.world
        self.committee_agents = [
            Committee(self, i, int(lv)) for i, lv in enumerate(w.committee_level)
        ]
        for a in self.committee_agents:
            parent = w.committee_parent[a.index]
            a.parent = None if parent < 0 else self.committee_agents[parent]
        for i, (c, k) in enumerate(zip(w.department_committee, w.department_kind, strict=True)):
            committee = self.committee_agents[c]
            kind = DEPARTMENT_KINDS[k % len(DEPARTMENT_KINDS)]
            committee.departments.append(WorkDepartment(self, i, committee, kind))
        self.branch_agents = [Branch(self, i) for i in range(w.branches)]
        self.org_agents = [SocialOrg(self, i, bool(p)) for i, p in enumerate(self.org_partnered)]
        self.person_agents = np.empty(w.people, dtype=object)
        self.person_agents[:] = [
            Member(self, pid) if m else Mass(self, pid) for pid, m in enumerate(self.member)
        ]

    def _build_operators(self) -> None:
        """Sparse operators reused every week (rebuilt when ties or membership change)."""
        p, layers = self.params, self.world.layers
        influence = (
            p.weight_work * layers["work"]
            + p.weight_residence * layers["residence"]
            + p.weight_online * layers["online"]
        ).tocsr()
        self.influence = BoundedConfidenceOperator(influence)
        self.mobilization_layers = [layers[k] for k in LAYERS]
        self.mobilization_degrees = layer_degrees(self.mobilization_layers)
        self.member_ids = np.flatnonzero(self.member)
        self.reach = MemberReach(layers, self.member_ids)

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """One week, mechanisms in the order of DESIGN §5.

        Social organisations' bridging (§5.9) acts inside service (§5.4), enculturation (§5.5)
        and mobilization (§5.10): partnered organisations relay service and calls.
        """
        self.week += 1
        self.change_society()  # §5.1 social change (a batch every model.social_change_every)
        self.assess_burden()  # §5.2 assessment and burden
        self.sense()  # §5.3 sensing and support
        self.serve()  # §5.4 service and image
        self.enculturate()  # §5.5 enculturation
        self.update_commitment()  # §5.6 member commitment
        self.integrate()  # §5.7 party-business integration
        self.recruit()  # §5.8 recruitment and new strata
        self.mobilize()  # §5.10 mobilization
        self.record()  # §5.11 outcomes

    # ------------------------------------------------------------------ mechanisms
    def _init_subject_fusion(self) -> None:
        """State of §5.2, §5.3 and §5.7: branches' integration effort, the code, reports."""
        p, pol, nb = self.params, self.policy, self.world.branches
        self.depth = p.levels - 1  # layers between the top committee and the branches
        self.branch_effort = initial_effort(nb, pol.integration_effort, p.effort_spread, self.rng)
        self.fusion_code = float(pol.integration_effort)
        self.reports = ReportChannel(p.sensing_delay * self.depth)
        self.sensing_prior: float | None = None
        self.branch_support = np.zeros(nb)
        self.branch_seen_need = np.zeros(nb)
        self.branch_true_need = np.full(nb, np.nan)
        self.branch_reporting = np.zeros(nb, bool)
        self.sensing_error = 0.0
        self.assess_burden()
        self._business_performance()

    def _fit_branch_state(self) -> None:
        """Resize per-branch state of §5.2-5.7 when branches appear (new ones adopt the code)."""
        nb, have = self.world.branches, self.branch_effort.size
        if have < nb:
            self.branch_effort = np.concatenate(
                [self.branch_effort, np.full(nb - have, self.fusion_code)]
            )
        elif have > nb:
            self.branch_effort = self.branch_effort[:nb]

    def assess_burden(self) -> None:
        """§5.2: demand down the hierarchy, paperwork first, then the free hours.

        See ``sim.assessment``: ``D = D0 g(d) H (1 + trace)``, paperwork ``min(cap, h D)``, the
        rest split by the fusion mode and each branch's integration effort.
        """
        p, pol = self.params, self.policy
        self._fit_branch_state()
        self.demand = float(
            assessment_demand(
                p.base_demand,
                self.depth,
                escalation=pol.escalation,
                departments=p.departments,
                unified_table=pol.unified_table,
                trace=pol.trace_requirement,
                simplify_downward=pol.simplify_downward,
                simplify_share=p.simplify_share,
            )
        )
        paper = paperwork_hours(self.branch_capacity, self.demand, p.hours_per_indicator)
        alloc = allocate_capacity(
            self.branch_capacity,
            paper,
            self.branch_effort,
            pol.fusion_mode,
            p.split_service,
            p.split_life,
            p.integration_life,
        )
        self.branch_burden = alloc.burden
        self.branch_service, self.branch_life = alloc.service, alloc.life
        self.branch_business, self.branch_free = alloc.business, alloc.free

    def sense(self) -> None:
        """§5.3: branches report the need they see; the top committee allocates support hours.

        See ``sim.sensing``: report noise, a delay per layer, control loss ``alpha^d``.
        """
        p, pol = self.params, self.policy
        ids = self.reach.ids  # the members whose ties the reach operator holds
        engaged = (self.home_branch[ids] >= 0) & (self.x[ids] > p.engaged_level)
        needy, ties, reporters = branch_need(
            self.reach,
            self.home_branch,
            self.world.branch_kind,
            engaged,
            self.dual_registered,
            ~self.member,
            self.need,
        )
        self.branch_true_need = mean_or_nan(needy, ties)
        self.branch_reporting = reporters > 0
        seen = np.where(self.branch_reporting, self.branch_true_need, np.nan)
        report = noisy_report(seen, p.sensing_noise, self.rng)
        arrived = self.reports.send(report)
        if self.sensing_prior is None:  # the committee's baseline picture: its first reports
            self.sensing_prior = mean_report(arrived)
        self.branch_seen_need = perceive(
            arrived, self.sensing_prior, pol.sensing_fidelity, self.depth
        )
        budget = p.support_hours * float(self.branch_members.sum())
        self.branch_support = allocate_support(self.branch_seen_need, self.branch_members, budget)
        self.branch_service = self.branch_service + self.branch_support
        self.sensing_error = sensing_error(
            self.branch_seen_need,
            np.nan_to_num(self.branch_true_need),
            ties > 0,
            self.branch_members,
        )

    def _member_sending(self) -> dict[str, np.ndarray]:
        """What each member sends on each layer: (real hours, formal hours, hours x view)."""
        p, ids = self.params, self.member_ids
        b = self.home_branch[ids]
        has = b >= 0
        engaged = has & (self.x[ids] > p.engaged_level)
        size = at_branch(self.branch_members, b)
        per_member = np.divide(
            at_branch(self.branch_service, b), size, out=np.zeros(ids.size), where=size > 0
        )
        hours = per_member * engaged
        formal = at_branch(self.branch_burden, b) > p.formalism_level
        kind = at_branch(self.world.branch_kind, b, -1)
        on = {
            "work": (kind == UNIT) | (kind == JOINT),
            "residence": kind == COMMUNITY,
            "online": (kind == PLATFORM_BRANCH) | (kind == ONLINE),
        }
        dual = p.dual_hours * (engaged & self.dual_registered[ids])
        view = self.x[ids]
        sending = {}
        for layer, mask in on.items():
            real = hours * (mask & ~formal)
            if layer == "residence":
                real = real + dual
            form = hours * (mask & formal)
            sending[layer] = np.column_stack([real, form, (real + form) * view])
        return sending

    def serve(self) -> None:
        """§5.4: needs arise; members' service resolves some; formalism and neglect cost trust."""
        p, rng, n = self.params, self.rng, self.world.people
        mass = ~self.member
        u = rng.random((3, n), dtype=np.float32)
        fresh = mass & ~self.need & (u[0] < p.need_rate)  # members: own problems in §5.6
        self.need |= fresh
        # a new need's kind (private or public) reuses the uniform that created it
        self.private_need = np.where(
            fresh, u[0] < p.need_rate * p.private_need_share, self.private_need
        )
        sending = self._member_sending()
        got = self.reach.deliver(sending)
        self.orgs.add_to(got, self.member_ids, sending)  # §5.9 partnered organisations relay
        real, formal, view_sum = got[:, 0], got[:, 1], got[:, 2]
        served = resolve_needs(
            self.need & mass,
            self.private_need,
            real,
            p.service_rate,
            self.policy.lever("care_service"),
            u[1],
        )
        formal_contact = mass & (u[2] < -np.expm1(-p.service_rate * formal))
        unmet = mass & self.need & ~served
        keep = np.float32(1.0) - np.float32(p.unmet_need_loss) * unmet
        for arr in (self.x, self.x0):  # direct experience moves a person's own anchor too
            arr[:] = image_update(arr, served, formal_contact, p.service_gain, p.formalism_loss)
            arr *= keep
        self.need &= ~served
        # needs also end without the party (solved elsewhere, or given up): no trust gained
        self.need &= ~(mass & (u[0] > 1.0 - p.need_lapse))
        self.reached = real > 0
        total = real + formal
        self.met = total > 0
        self.met_view = np.divide(view_sum, total, out=np.zeros(n), where=self.met)

    def enculturate(self) -> None:
        """§5.5: Friedkin-Johnsen influence with bounded confidence, plus open activities."""
        p = self.params
        new = friedkin_johnsen_step(self.influence, self.x, self.x0, p.susceptibility, p.confidence)
        new = open_activity_pull(
            new, self.met_view, self.met, p.open_pull * self.policy.lever("open_activities")
        )
        # members' values are their commitment (§5.6), which influence does not move
        np.copyto(self.x, new, where=~self.member)

    def update_commitment(self) -> None:
        """§5.6: organisational life, answers to own problems, duplication, isolation."""
        p, rng, ids = self.params, self.rng, self.member_ids
        b = self.home_branch[ids]
        has = b >= 0
        need = self.need[ids] | (rng.random(ids.size) < p.member_need_rate)
        answered = need & has & (rng.random(ids.size) < self.policy.responsiveness)
        self.need[ids] = need & ~answered
        life = at_branch(
            life_quality(self.branch_life, self.branch_members, self.branch_burden, p.life_hours), b
        )
        weight = np.where(self.out_of_system[ids], p.response_weight_outside, 1.0)
        duplicated = self.dual_registered[ids] & (not self.policy.mutual_recognition)
        self.x[ids] = update_commitment(
            self.x[ids],
            life,
            answered,
            weight,
            duplicated,
            ~has,
            p.life_gain,
            p.response_gain,
            p.duplicate_loss,
            p.floating_loss,
            p.commitment_decay,
        )

    def _business_performance(self) -> np.ndarray:
        """Per-branch business performance from this week's integration effort (§5.7)."""
        p = self.params
        perf = performance(
            self.branch_effort,
            self.policy.fusion_mode,
            p.business_base,
            p.business_lift,
            p.business_curvature,
            p.business_displacement,
            self.branch_free,
        )
        self.unit_perf = unit_performance(self.world.unit_branch, perf, p.business_base)
        self.business_performance = business_performance(self.world.unit_branch, self.unit_perf)
        return perf

    def integrate(self) -> None:
        """§5.7: units' business performance; evaluation by outcomes lets effort learn.

        See ``sim.fusion``: the inverted U of integrated work, and March's (1991) code learning
        from branches whose party work does more for their units (only when
        ``policy.evaluation`` is ``outcomes`` and the mode links party work to the business;
        assessment by traces gives no signal to learn from).
        """
        p, pol = self.params, self.policy
        perf = self._business_performance()
        if pol.evaluation != "outcomes" or pol.fusion_mode not in LEARNING_MODES:
            return
        nb, ub = perf.size, self.world.unit_branch
        learners = (np.bincount(ub[ub >= 0], minlength=nb)[:nb] > 0) & (self.branch_free > 0)
        observed = observed_effect(
            perf, p.business_base, self.branch_free, p.business_noise, self.rng
        )
        self.branch_effort, self.fusion_code = code_learning(
            self.branch_effort,
            self.fusion_code,
            observed,
            learners,
            p.code_learning,
            p.socialisation,
            p.exploration,
            self.rng,
        )

    def call_active(self, week: int | None = None) -> bool:
        """Whether a mobilization call runs in the given week (default: this week)."""
        week = self.week if week is None else week
        start = self.params.crisis_start
        return start >= 0 and start <= week < start + self.params.crisis_weeks

    def mobilize(self) -> None:
        """§5.10: during a call, threshold cascade over the layers; otherwise nobody is out."""
        p = self.params
        if not self.call_active():
            if self.active.any():
                self.active[:] = False
            return
        b = self.home_branch
        burden = at_branch(self.branch_burden, b)
        motivation = self.x + p.member_motivation * self.member + p.org_call * self.partnered_person
        cost = p.cost_base + p.cost_burden * burden * self.member
        self.active, _ = threshold_cascade(
            self.mobilization_layers,
            self.active,
            motivation - cost,
            self.threshold,
            p.peer_weight,
            p.rounds_per_week,
            self.mobilization_degrees,
        )

    def change_society(self) -> None:
        """§5.1: stable-unit workers move to platforms; branches follow (``sim.social_change``)."""
        self.social_change.step(self)

    def recruit(self) -> None:
        """§5.8: applicants, activists, probationary members, admission (``sim.recruitment``)."""
        self.recruitment.step(self)

    def record(self) -> None:
        """§5.11: model-level outcomes from arrays, collected once per step."""
        self._outcomes = self._compute_outcomes()
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ API
    def _compute_outcomes(self) -> dict[str, float]:
        w = self.world
        self.load = model_load(self)  # §5.6 hours a week per member (sim.embedding)
        out = compute_outcomes(
            member=self.member,
            x=self.x,
            home_branch=self.home_branch,
            engaged_level=self.params.engaged_level,
            active=self.active,
            unit_branch=w.unit_branch[w.unit_staff > 0],  # units that still have staff
            reached=self.reached,
            need=self.need,
            branch_burden=self.branch_burden,
            branch_members=self.branch_members,
            sensing_error=self.sensing_error,
            business_performance=self.business_performance,
        )
        out.update(self.recruitment.outcomes(self))  # §5.8 recruits, new strata, pipeline
        ids = self.member_ids
        out["member_load"] = float(self.load[ids].mean()) if ids.size else 0.0
        return out

    def outcomes(self) -> dict[str, float]:
        """The current value of every outcome (computed now if no step has run)."""
        return dict(self._outcomes) if self._outcomes else self._compute_outcomes()

    def results(self) -> pd.DataFrame:
        """One row per step run so far: ``step`` and the outcome columns."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        frame.insert(0, "step", np.arange(1, len(frame) + 1))
        return frame

    def admit(self, pids: np.ndarray, branches: np.ndarray) -> None:
        """Turn masses into members of the given branches (-1: no branch reaches them).

        The person's identification becomes the new member's starting commitment; the
        ``Mass`` agent is removed and a ``Member`` agent takes its place.
        """
        pids = np.asarray(pids, dtype=np.int64)
        if np.any(self.member[pids]):
            raise ValueError("admit: some of these people are members already")
        self.member[pids] = True
        self.home_branch[pids] = branches
        for pid in pids.tolist():  # a handful of recruits a week, not a per-person pass
            self.person_agents[pid].remove()
            self.person_agents[pid] = Member(self, pid)
        self.member_ids = np.flatnonzero(self.member)
        self.reach.refresh(self.member_ids)
        hb = self.home_branch[self.member]
        self.branch_members = np.bincount(hb[hb >= 0], minlength=self.world.branches).astype(float)
        self.branch_capacity = branch_capacity(
            self.branch_members, self.params.hours_base, self.params.hours_per_member
        )
