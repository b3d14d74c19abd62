"""PartyBuildingModel: grassroots party organisations as a system (DESIGN §3-§6).

An agent-based formalisation of the paper "four dimensions of improving grassroots party
building as a system" (``shared/seed``): who does party building (committees, work
departments, branches), strong foundations (coverage, embedding, integration of out-of-system
members), integration with the unit's business, and openness to new strata, social
organisations and the masses. The published models each mechanism rests on are named in its
module under :mod:`sim.mechanisms`; ``docs/ODD.md`` describes the whole model.

The model is the orchestrator. It builds the state (:mod:`sim.world`), runs the mechanisms of
DESIGN §5 in their fixed order, applies the events they return (Mesa agents created or swapped,
operators rebuilt when the network's version changes) and records the outcomes. The state
(:mod:`sim.state`) is the only owner of the numbers; ``Member`` and ``Mass`` agents are views
over its arrays. One seed feeds every random draw through ``numpy.random.SeedSequence``.

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

from sim import operators
from sim.agents import (
    Committee,
    Mass,
    Member,
    SocialOrg,
    WorkDepartment,
    branch_agents,
    person_agents,
)
from sim.mechanisms import (
    assessment,
    commitment,
    enculturation,
    fusion,
    membership,
    mobilization,
    recruitment,
    sensing,
    service,
    social_change,
)
from sim.outcomes import OUTCOME_COLUMNS, compute_outcomes
from sim.params import Config, ModelParams, PolicyParams
from sim.state import Branches, Events, Network, People, State
from sim.world import DEPARTMENT_KINDS, build_world, initialise


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
        self.state: State = build_world(
            self.params,
            self.policy,
            np.random.default_rng(world_ss),
            np.random.default_rng(network_ss),
        )
        initialise(self.state, self.params, self.policy, self.rng)
        self._init_agents()
        self.ops = operators.build(self.state, self.params, self.policy)
        self.week = 0
        #: the events each mechanism returned in the last step (for tests and diagnostics)
        self.events: dict[str, Events] = {}
        self._outcomes: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m._outcomes[k]) for k in OUTCOME_COLUMNS}
        )

    @classmethod
    def from_config(cls, cfg: Config, rng: int | None = None) -> PartyBuildingModel:
        """Build from a validated :class:`sim.params.Config` (``rng`` overrides ``cfg.seed``)."""
        seed = cfg.seed if rng is None else rng
        return cls(cfg.model, cfg.policy, rng=seed, scenario=cfg.scenario)

    # ------------------------------------------------------------------ views of the state
    @property
    def people(self) -> People:
        """Per-person arrays (``self.state.people``)."""
        return self.state.people

    @property
    def branches(self) -> Branches:
        """Per-branch arrays (``self.state.branches``)."""
        return self.state.branches

    @property
    def network(self) -> Network:
        """The layers of ties (``self.state.network``)."""
        return self.state.network

    # ------------------------------------------------------------------ set-up
    def _init_agents(self) -> None:
        """Mesa agents: the hierarchy, branches, social organisations and people (views)."""
        s = self.state
        h = s.hierarchy
        self.committee_agents = [
            Committee(self, i, int(lv)) for i, lv in enumerate(h.committee_level)
        ]
        for a in self.committee_agents:
            parent = h.committee_parent[a.index]
            a.parent = None if parent < 0 else self.committee_agents[parent]
        for i, (c, k) in enumerate(zip(h.department_committee, h.department_kind, strict=True)):
            committee = self.committee_agents[c]
            kind = DEPARTMENT_KINDS[k % len(DEPARTMENT_KINDS)]
            committee.departments.append(WorkDepartment(self, i, committee, kind))
        self.branch_agents: list[mesa.Agent] = []
        self._add_branch_agents()
        self.org_agents = [SocialOrg(self, i, bool(p)) for i, p in enumerate(s.orgs.partnered)]
        self.person_agents = person_agents(self, s.people.member)

    def _add_branch_agents(self) -> None:
        """A Mesa ``Branch`` agent for every branch row that has none yet."""
        self.branch_agents.extend(
            branch_agents(self, len(self.branch_agents), self.state.branches.n)
        )

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """One week, mechanisms in the order of DESIGN §5.

        Partnered social organisations (§5.10) act inside service (§5.4) and mobilization
        (§5.11): they relay service and calls.
        """
        self.week += 1
        s, p, pol, rng, week = self.state, self.params, self.policy, self.rng, self.week
        self._apply("social_change", social_change.step(s, p, pol, rng, week))  # §5.1
        ops = self.ops  # as social change left them (rebuilt when ties changed)
        self._apply("assessment", assessment.step(s, p, pol))  # §5.2
        self._apply("sensing", sensing.step(s, p, pol, rng, ops.reach, ops.bridge))  # §5.3
        self._apply("service", service.step(s, p, pol, rng, week, ops.reach, ops.bridge))  # §5.4
        self._apply("enculturation", enculturation.step(s, p, pol, ops.influence))  # §5.5
        self._apply("commitment", commitment.step(s, p, pol, rng, week, ops.reach.ids))  # §5.6
        self._apply("fusion", fusion.step(s, p, pol, rng))  # §5.7
        self._apply("recruitment", recruitment.step(s, p, pol, rng, week, ops.weights))  # §5.8
        self._apply("membership", membership.step(s, p, pol, rng, week))  # §5.9
        ops = self.ops  # retirements move people between units (ties change)
        self._apply("mobilization", mobilization.step(s, p, week, ops.peers))  # §5.11
        self.record()  # §5.12 outcomes

    def _apply(self, mechanism: str, events: Events) -> None:
        """Act on what a mechanism did: new Branch agents, swapped people, rebuilt operators."""
        self.events[mechanism] = events
        if events.opened:
            self._add_branch_agents()
        swapped = False
        for pid in events.admitted.tolist():  # a handful of recruits a week
            self._swap(pid, Member)
            swapped = True
        for pid in events.exited.tolist():  # a handful of deaths and lapses a week
            self._swap(pid, Mass)
            swapped = True
        if events.ties_changed or self.state.network.version != self.ops.network_version:
            self.ops = operators.build(
                self.state, self.params, self.policy, self.ops.bridge, previous=self.ops
            )
            return
        if swapped:
            self.ops.refresh_members(self.state.people.member_ids())
        self.ops.weight_cache.update(self.state.people)

    def _swap(self, pid: int, cls: type[Member] | type[Mass]) -> None:
        """Replace a person's Mesa agent by one of the other class (admission or exit)."""
        self.person_agents[pid].remove()
        self.person_agents[pid] = cls(self, pid)

    def call_active(self, week: int | None = None) -> bool:
        """Whether a mobilization call runs in the given week (default: this week)."""
        return mobilization.call_active(self.params, self.week if week is None else week)

    def record(self) -> None:
        """§5.12: model-level outcomes from the state's arrays, collected once per step."""
        self._outcomes = compute_outcomes(self.state, self.params, self.policy, self.week)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ API
    def outcomes(self) -> dict[str, float]:
        """The current value of every outcome (computed now if no step has run)."""
        if self._outcomes:
            return dict(self._outcomes)
        return compute_outcomes(self.state, self.params, self.policy, self.week)

    def results(self) -> pd.DataFrame:
        """One row per step run so far: ``step`` and the outcome columns."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        frame.insert(0, "step", np.arange(1, len(frame) + 1))
        return frame
