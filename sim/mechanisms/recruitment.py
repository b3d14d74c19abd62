"""Recruitment of new members and of the new strata (DESIGN §5.8, Appendix A; paper 4.1).

Paper 4.1 asks branches to develop advanced elements of the new social strata and to adapt
how they find, train and admit them. The pipeline follows the party's rules on developing
members (中国共产党发展党员工作细则, 2014) in four stages held by masses:

    none -> applicant (入党申请人) -> activist (入党积极分子) -> probationary member (预备党员)
         -> full member

* **Applying.** A mass j in no stage applies with weekly probability
  ``r * max(0, x_j - x_a) * y_j * o_j`` (Appendix A), where ``x_j`` is identification, ``y_j``
  the youth odds (``model.youth_odds`` for people aged 35 or younger, else 1; the communique's
  83.7% of new members aged 35 or younger is the pattern this reproduces) and ``o_j`` the
  outreach weight: 1 for most people, ``b + (1 - b) * policy.new_strata_outreach`` for the new
  strata and platform workers (``b = model.outreach_base``: without outreach the party reaches
  them less; with full outreach as well as anyone).
* **Developing branch.** The branch that develops a person is the branch of their work unit, if
  it has members, else their residential community's branch; without either nobody develops
  them (they can still withdraw).
* **Meetings.** Branch committees decide on activists and developments at their meetings,
  every ``model.meeting_every`` weeks (4: monthly); applications and withdrawals happen any
  week, admissions exactly when probation ends (so, with monthly meetings, monthly too).
* **Capacity.** Development takes members' time. Each branch earns, every week,
  ``activist_rate * F_b / 52`` slots for taking on activists and ``develop_rate * F_b / 52``
  slots for developing activists into probationary members, where ``F_b`` is its
  quality-weighted hours of organisational life (:func:`development_hours`; what paperwork
  leaves, :mod:`.assessment`): a branch buried in paperwork develops fewer.
  Credit is banked up to one person (or one meeting's accrual, if more). At a meeting a branch
  promotes at most ``floor(credit)`` people at each step, chosen at random among its eligible
  candidates with weight ``o_j`` (outreach also raises the chance to be developed). So
  promotions never exceed capacity.
* **Durations.** Activists are developed only after ``model.activist_weeks`` (26: at least half
  a year); probationary members become full members after exactly ``model.probation_weeks``
  (52: one year), joining the branch that developed them (or, if it is gone, their street's
  online branch with chance ``policy.online_branches``; else they float).
* **Withdrawal.** Applicants and activists leave the pipeline at yearly rates
  ``model.applicant_dropout`` and ``model.activist_dropout``; probationary members all pass.

**Steady-state start.** At build time the pipeline is filled at the 2024 communique's ratios to
members (applicants 21.4%, activists 10.6%, probationary members 2.1%, i.e. one year of
admissions), spread over branches in proportion to their development hours and, within a
branch, drawn among masses in proportion to their application weight (topped up from any
branch where a branch has too few candidates). Activists get tenures from the
steady-state distribution of the stage (exponential dropout before week 26, dropout plus
promotion after); probationary members get tenures spread uniformly over the past year's
meetings, so admissions and developments flow at their steady rates from the first month. The
calibrated defaults of ``apply_rate``, ``activist_rate`` and ``develop_rate`` keep the ratios
near their targets over the run (measured in ``docs/ODD.md``).

Everything is vectorised over the people in the pipeline (a few percent of the population); the
mechanism has no per-person loop; the model swaps the Mesa agents of the few people admitted
each week (the ``admitted`` event).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.mechanisms.assessment import effective_life
from sim.network import group_order
from sim.organisation import join, online_pickup
from sim.params import ModelParams, PolicyParams
from sim.sampling import bernoulli_thinned, weighted_sample
from sim.state import (
    ACTIVIST,
    APPLICANT,
    COMMUNITY,
    NEVER,
    NO_STAGE,
    PROBATIONARY,
    RECRUIT_WINDOW,
    Events,
    People,
    State,
    at_branch,
    true_positions,
)

#: Calibration targets, per member (2024 party statistical communique, June 2025):
#: 21.42 M applicants, 10.61 M activists and 2.131 M new members for 100.271 M members.
TARGET_APPLICANTS = 21.42 / 100.271
TARGET_ACTIVISTS = 10.61 / 100.271
TARGET_NEW_MEMBERS = 2.131 / 100.271
#: Share of new members aged 35 or younger (2024 communique): a pattern to reproduce.
TARGET_YOUNG_SHARE = 0.837


def outreach_weight(new_groups: np.ndarray, base: float, outreach: float) -> np.ndarray:
    """o_j: 1, or ``base + (1 - base) * outreach`` for the new strata and platform workers."""
    return np.where(new_groups, base + (1.0 - base) * outreach, 1.0)


def application_chance(
    x: np.ndarray, threshold: float, rate: float, weight: np.ndarray
) -> np.ndarray:
    """Weekly chance to apply: ``rate * max(0, x - threshold) * weight``, capped at 1."""
    return np.minimum(rate * np.maximum(x - threshold, 0.0) * weight, 1.0)


def masses_application_chance(
    x: np.ndarray, threshold: float, rate: float, weight: np.ndarray, member: np.ndarray
) -> np.ndarray:
    """:func:`application_chance` for everyone, 0 for members.

    In float32 (the model's identification and weights) one compiled pass; otherwise numpy.
    """
    if x.dtype == weight.dtype == np.float32:
        out = np.empty(x.size, np.float32)
        _application_chance(x, np.float32(threshold), np.float32(rate), weight, member, out)
        return out
    chance = application_chance(x, threshold, rate, weight)
    chance[member] = 0.0
    return chance


@numba.njit(cache=True, nogil=True)
def _application_chance(x, threshold, rate, weight, member, out):  # pragma: no cover - compiled
    """``out[i]``: :func:`application_chance` of person i in float32 (numpy's operations in its
    order: ``min((rate * max(x - threshold, 0)) * weight, 1)``), 0 for a member."""
    zero, one = np.float32(0.0), np.float32(1.0)
    for i in range(x.size):
        out[i] = zero if member[i] else min((rate * max(x[i] - threshold, zero)) * weight[i], one)


def select_within_capacity(
    candidates: np.ndarray,
    branch: np.ndarray,
    weight: np.ndarray,
    slots: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick at most ``slots[b]`` candidates in each branch ``b``, with chance ~ weight.

    Weighted sampling without replacement by Gumbel keys (``log w - log(-log u)``), ranked
    inside each branch.

    Args:
        candidates: person ids.
        branch: developing branch of each candidate (>= 0).
        weight: positive weight of each candidate.
        slots: whole number of places per branch.
        rng: generator.

    Returns:
        The chosen person ids and their rank inside their branch (0 = first chosen).
    """
    if candidates.size == 0:
        return candidates, np.empty(0, np.int64)
    with np.errstate(divide="ignore"):
        keys = np.log(weight) - np.log(-np.log(rng.random(candidates.size)))
    order = group_order(branch, -keys)  # np.lexsort((-keys, branch)), faster
    b = branch[order]
    new_block = np.r_[True, b[1:] != b[:-1]]
    start = np.maximum.accumulate(np.where(new_block, np.arange(b.size), 0))
    rank = np.arange(b.size) - start
    take = rank < slots[b]
    return candidates[order][take], rank[take]


def development_branch(state: State, pids: np.ndarray) -> np.ndarray:
    """The branch that develops each person: the unit's (if it has members), else community's."""
    people, units, b = state.people, state.units, state.branches
    unit = people.unit[pids]
    ub = at_branch(units.branch, unit, -1)
    ok = ub >= 0
    ok[ok] = b.members[ub[ok]] > 0
    return np.where(ok, ub, state.hierarchy.community_branch[people.community[pids]]).astype(
        np.int64
    )


def _round_stochastic(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = np.floor(x)
    return (base + (rng.random(x.size) < x - base)).astype(np.int64)


def weights(people: People, p: ModelParams, policy: PolicyParams) -> tuple[np.ndarray, np.ndarray]:
    """(application weight y_j o_j, outreach weight o_j) of every person.

    They depend only on the age band (35 or younger), sector and the new-strata flag: the
    model keeps them in a :class:`WeightCache` that recomputes only the people whose band or
    group changed.
    """
    return weights_of(people.age <= 35, people.new_groups(), p, policy)


def weights_of(
    young: np.ndarray, new_groups: np.ndarray, p: ModelParams, policy: PolicyParams
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`weights` from each person's age band and group."""
    youth = np.where(young, p.youth_odds, 1.0)
    reach = outreach_weight(new_groups, p.outreach_base, policy.lever("new_strata_outreach"))
    return (youth * reach).astype(np.float32), reach


class WeightCache:
    """The recruitment weights of every person, kept current at the cost of the changes.

    Ageing, deaths and moves change a few people's age band or group each week; only their
    weights are recomputed (element by element the same numbers as a full recomputation).

    Args:
        people: the people.
        p: model parameters.
        policy: policy levers.
    """

    def __init__(self, people: People, p: ModelParams, policy: PolicyParams):
        self.p, self.policy = p, policy
        self.young = people.age <= 35
        self.new_groups = people.new_groups()
        self.values = weights_of(self.young, self.new_groups, p, policy)
        self.version = people.version

    def update(self, people: People) -> None:
        """Recompute the weights of the people whose age band or group changed."""
        if people.version == self.version:
            return
        young, new_groups = people.age <= 35, people.new_groups()
        changed = true_positions((young != self.young) | (new_groups != self.new_groups))
        if changed.size:
            app, reach = weights_of(young[changed], new_groups[changed], self.p, self.policy)
            self.values[0][changed] = app
            self.values[1][changed] = reach
        self.young, self.new_groups, self.version = young, new_groups, people.version


def development_hours(state: State, p: ModelParams, policy: PolicyParams) -> np.ndarray:
    """Hours a week each branch can give to developing members: its organisational life.

    Development (talks with applicants, training activists, the branch committee's decisions)
    happens in organisational life, weighted by its quality (ritual life develops less), so it
    is one use of the branch's hours, not hours from nowhere, and paperwork crowds it out
    through the same channel as everything else (fewer hours).
    """
    return effective_life(state.branches, p, policy.fusion_mode)


# --------------------------------------------------------------------------- start


def initialise(
    state: State, p: ModelParams, policy: PolicyParams, rng: np.random.Generator
) -> None:
    """Fill the stages at the steady state of the calibrated pipeline (see module doc).

    Also draws each branch's fractional credit (uniform in the steady state).
    """
    people, b = state.people, state.branches
    people.stage = np.zeros(people.n, np.int8)
    people.since = np.zeros(people.n, np.int32)  # week the person entered the current stage
    b.credit_activist = rng.random(b.n)
    b.credit_develop = rng.random(b.n)
    members = float(people.member.sum())
    free = development_hours(state, p, policy)
    if members == 0 or free.sum() <= 0:
        return
    masses = np.flatnonzero(~people.member)
    apply_w, _ = weights(people, p, policy)
    x = people.identification[masses]
    like = apply_w[masses] * np.maximum(x - p.recruit_threshold, 0.0)
    dev = development_branch(state, masses)
    ok = (dev >= 0) & (like > 0)
    # branches with nobody to develop (online branches, empty pools) hold no stock
    develops = np.bincount(dev[ok], minlength=free.size) > 0
    if not np.any(develops & (free > 0)):
        return
    share = free * develops / (free * develops).sum()
    targets = {
        PROBATIONARY: TARGET_NEW_MEMBERS * p.probation_weeks / 52.0,
        ACTIVIST: TARGET_ACTIVISTS,
        APPLICANT: TARGET_APPLICANTS,
    }
    per_branch = {s: _round_stochastic(t * members * share, rng) for s, t in targets.items()}
    slots = sum(per_branch.values())
    chosen, rank = select_within_capacity(masses[ok], dev[ok], like[ok], slots, rng)
    b_of = development_branch(state, chosen)
    # inside a branch: the first ranks are probationary, then activists, then applicants
    n_p, n_k = per_branch[PROBATIONARY][b_of], per_branch[ACTIVIST][b_of]
    stage = np.where(rank < n_p, PROBATIONARY, np.where(rank < n_p + n_k, ACTIVIST, APPLICANT))
    # branches with fewer candidates than places leave places empty: top each stage up to its
    # target from the candidates not chosen yet (by application weight, any branch)
    # masses[ok] without the chosen, sorted (np.setdiff1d's result, without its hashing)
    left = np.zeros(people.n, bool)
    left[masses[ok]] = True
    left[chosen] = False
    rest = np.flatnonzero(left)
    like_of = np.zeros(people.n, like.dtype)  # weights by person id: a scatter, not a search
    like_of[masses] = like
    rest_like = like_of[rest]
    extra_stage = []
    for s, t in targets.items():
        deficit = int(round(t * members)) - int(np.count_nonzero(stage == s))
        extra_stage.append(np.full(max(deficit, 0), s, np.int8))
    extra_stage = np.concatenate(extra_stage)
    take = weighted_sample(rest_like, min(extra_stage.size, rest.size), rng)
    chosen = np.concatenate([chosen, rest[take]])
    stage = np.concatenate([stage, extra_stage[: take.size]])
    people.stage[chosen] = stage
    # tenures (weeks already spent in the stage at week 0)
    tenure = np.zeros(chosen.size)
    is_p = stage == PROBATIONARY
    # developed at past meetings: tenures are multiples of the meeting interval
    tenure[is_p] = p.meeting_every * rng.integers(
        0, -(-p.probation_weeks // p.meeting_every), is_p.sum()
    )
    d_k = -np.log1p(-min(p.activist_dropout, 1 - 1e-9)) / 52.0
    d_a = -np.log1p(-min(p.applicant_dropout, 1 - 1e-9)) / 52.0
    inflow = p.activist_rate * (free * develops).sum() / 52.0  # activists a week
    is_k = stage == ACTIVIST
    tenure[is_k] = _activist_tenure(
        is_k.sum(), inflow, d_k, TARGET_ACTIVISTS * members, p.activist_weeks, rng
    )
    is_a = stage == APPLICANT
    stay = 1.0 / max(d_a + inflow / max(TARGET_APPLICANTS * members, 1.0), 1e-6)
    tenure[is_a] = np.minimum(rng.exponential(stay, is_a.sum()), 520)
    people.since[chosen] = -np.floor(tenure).astype(np.int32)


def _activist_tenure(
    k: int, inflow: float, d: float, stock: float, minimum: int, rng: np.random.Generator
) -> np.ndarray:
    """Tenures from the stage's steady state: dropout ``d`` before ``minimum`` weeks, then
    dropout plus promotion at the rate that keeps the stock."""
    if k == 0:
        return np.zeros(0)
    young = inflow * (-np.expm1(-d * minimum)) / d if d > 0 else inflow * minimum
    old = stock - young
    survive = inflow * np.exp(-d * minimum)
    if old <= 0 or survive <= 0:
        return rng.uniform(0, max(stock / max(inflow, 1e-9), 1.0), k)
    rate = survive / old  # total exit rate after the minimum (d + promotion)
    is_young = rng.random(k) < young / stock
    u = rng.random(k)
    t_young = -np.log1p(-u * (-np.expm1(-d * minimum))) / d if d > 0 else u * minimum
    t_old = minimum + rng.exponential(1.0 / rate, k)
    return np.where(is_young, t_young, t_old)


# --------------------------------------------------------------------------- weekly step


def _promote(
    state: State,
    pipe: np.ndarray,
    eligible: np.ndarray,
    dev: np.ndarray,
    reach: np.ndarray,
    credit: np.ndarray,
    to_stage: int,
    week: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At a meeting, each branch promotes at most floor(credit) eligible people (weight o_j)."""
    slots = np.floor(credit).astype(np.int64)
    chosen, _ = select_within_capacity(
        pipe[eligible], dev[eligible], reach[pipe[eligible]], slots, rng
    )
    branch = development_branch(state, chosen)
    np.subtract.at(credit, branch, 1.0)
    state.people.stage[chosen] = to_stage
    state.people.since[chosen] = week
    return chosen, branch, slots


def step(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    week: int,
    weights: tuple[np.ndarray, np.ndarray],
) -> Events:
    """One week of the pipeline: withdrawals, admissions, promotions, applications.

    Args:
        state: the model state.
        p: model parameters.
        policy: policy levers.
        rng: the dynamics generator.
        week: this week's number.
        weights: ``(application weight, outreach weight)`` of every person (:func:`weights`).

    Returns:
        Events: the people admitted as full members, branches opened for them, and in
        ``detail`` what each stage of the pipeline did (for tests and diagnostics).
    """
    people, b = state.people, state.branches
    opened_before = b.n
    free = development_hours(state, p, policy)
    for name, rate in (("credit_activist", p.activist_rate), ("credit_develop", p.develop_rate)):
        accrual = rate * free / 52.0
        cap = np.maximum(1.0, p.meeting_every * accrual)  # bank up to one meeting's worth
        setattr(b, name, np.minimum(getattr(b, name) + accrual, cap))
    apply_w, reach = weights

    pipe = pipe_all = true_positions(people.stage > 0)
    stage = people.stage[pipe]
    # 1. withdrawals
    weekly = np.array([0.0, p.applicant_dropout, p.activist_dropout, 0.0])
    hazard = -np.expm1(np.log1p(-np.minimum(weekly, 1 - 1e-12)) / 52.0)
    quit_ = rng.random(pipe.size) < hazard[stage]
    people.stage[pipe[quit_]] = NO_STAGE
    pipe, stage = pipe[~quit_], stage[~quit_]
    tenure = week - people.since[pipe]
    # 2. probation complete: full members (exactly probation_weeks after development)
    due = (stage == PROBATIONARY) & (tenure >= p.probation_weeks)
    admitted = pipe[due]
    admit(state, p, policy, rng, week, admitted, development_branch(state, admitted))
    # 3-4. at the branch committee's meeting: development and new activists, within capacity
    none = np.empty(0, np.int64)
    developed = dev_branch = activated = act_branch = none
    slots = slots_a = np.zeros(b.n, np.int64)
    if week % p.meeting_every == 0:
        keep = ~due
        pipe, stage, tenure = pipe[keep], stage[keep], tenure[keep]
        dev = development_branch(state, pipe)
        elig = (stage == ACTIVIST) & (tenure >= p.activist_weeks) & (dev >= 0)
        developed, dev_branch, slots = _promote(
            state, pipe, elig, dev, reach, b.credit_develop, PROBATIONARY, week, rng
        )
        elig = (stage == APPLICANT) & (dev >= 0)
        activated, act_branch, slots_a = _promote(
            state, pipe, elig, dev, reach, b.credit_activist, ACTIVIST, week, rng
        )
    # 5. new applications
    chance = masses_application_chance(  # 0 for members (recruits of this week included)
        people.identification,
        np.float32(p.recruit_threshold),
        np.float32(p.apply_rate),
        apply_w,
        people.member,
    )
    chance[pipe_all] = 0.0  # people in a stage, and who withdrew this week
    applied = bernoulli_thinned(chance, rng)
    people.stage[applied] = APPLICANT
    people.since[applied] = week
    detail = {
        "admitted": admitted,
        "developed": developed,
        "developed_branch": dev_branch,
        "develop_slots": slots,
        "activated": activated,
        "activated_branch": act_branch,
        "activist_slots": slots_a,
        "applied": applied,
        "withdrew": pipe_all[quit_],
    }
    return Events(opened=b.n - opened_before, admitted=admitted, detail=detail)


def admit(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    week: int,
    pids: np.ndarray,
    branch: np.ndarray,
) -> None:
    """Probationary members who completed the year become full members of ``branch``.

    A full branch splits; a member whose developing branch is gone joins the street's online
    branch with chance ``policy.online_branches``, else floats. Members and capacity are
    recounted; dual registration is drawn for those whose branch is at work or online.
    """
    people, tally = state.people, state.tally
    if np.any(people.member[pids]):
        raise ValueError("admit: some of these people are members already")
    slot = week % RECRUIT_WINDOW
    tally.recruits = int(pids.size)
    if pids.size == 0:
        tally.window[:, slot] = 0
        return
    new = people.new_groups()[pids]
    young = people.age[pids] <= 35
    tally.window[:, slot] = (pids.size, int(new.sum()), int(young.sum()))
    tally.totals += tally.window[:, slot]
    people.stage[pids] = NO_STAGE
    branch = join(state, p, pids, branch)  # a full branch splits
    lost = branch < 0
    if lost.any():
        draw = rng.random(lost.sum())
        online = draw < policy.lever("online_branches")
        found = np.full(lost.sum(), -1, np.int64)
        found[online] = online_pickup(state, p, pids[lost][online])
        branch[lost] = found
    people.member[pids] = True
    people.home_branch[pids] = branch
    people.commitment[pids] = people.identification[pids]  # a recruit's starting commitment
    people.disposition[pids] = people.commitment[pids]
    people.need_since[pids] = NEVER  # a need pending from before is not an own problem arising
    people.life_week[pids] = week
    state.branches.recount(people)
    at_work = at_branch(state.branches.kind, branch, COMMUNITY) != COMMUNITY
    people.dual_registered[pids] = at_work & (rng.random(pids.size) < policy.embedding)


# --------------------------------------------------------------------------- outcomes


def outcomes(state: State) -> dict[str, float]:
    """Per-step recruitment outcomes (see ``sim.outcomes``)."""
    people, tally = state.people, state.tally
    members = float(people.member.sum())
    window = tally.window.sum(axis=1)
    applicants = np.count_nonzero(people.stage == APPLICANT)
    activists = np.count_nonzero(people.stage == ACTIVIST)
    return {
        "recruits": float(tally.recruits),
        "new_strata_recruit_share": float(window[1] / window[0]) if window[0] else 0.0,
        "applicants": float(applicants / members) if members else 0.0,
        "activists": float(activists / members) if members else 0.0,
    }


def summary(state: State) -> dict[str, float]:
    """Totals since the start: recruits, share of new groups and share aged 35 or younger."""
    total, new, young = (int(v) for v in state.tally.totals)
    return {
        "recruits_total": float(total),
        "new_strata_share_total": new / total if total else float("nan"),
        "young_share_total": young / total if total else float("nan"),
    }
