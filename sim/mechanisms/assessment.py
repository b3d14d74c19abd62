"""Assessment and burden: demand down the hierarchy, and where a branch's hours go (DESIGN §5.2).

Paper 1.1 ("明确越往下考核工作越要简化，不得层层加码，解决多头考核、重痕轻绩等问题") and 3.1
("党务工作层层加码、考核台账越垒越高", "一表统管", "避免多头重复考核、膨胀加码考核"): assessment
demands issued by the committees and their work departments pile up on the way down and crowd
out the branch's real work.

**Demand** reaching branch ``b`` (DESIGN Appendix A)::

    D_b = D0 * prod over the committees l above b of (1 + e_l)(1 - s_l) * H_eff * (1 + trace_eff)

* ``e_l``: committee ``l``'s own margin (层层加码), drawn once around ``policy.escalation``
  (lognormal, sd of the log ``model.escalation_spread``): committees differ in how much they add;
* ``s_l = model.simplify_share`` with ``policy.simplify_downward`` (越往下越简化), else 0. The
  two compose: a committee may add its margin and still simplify what it passes down;
* ``H_eff = H`` when each of the ``H`` work departments issues its own table (多头考核), and
  ``1 + (H - 1)(1 - omega)`` with ``policy.unified_table`` (一表统管): one table removes the
  share ``omega`` (``model.indicator_overlap``) of every further department's indicators that
  duplicates another's, so it is lighter than separate tables and heavier than one department's;
* ``trace_eff = trace`` (留痕, ``policy.trace_requirement``) when the assessment looks at records,
  and ``trace (1 - relief)`` when it looks at outcomes (``policy.evaluation``, 重痕轻绩 vs
  效能导向): results replace part of the records (``model.outcome_trace_relief``).

**Hours** (the hours rule of DESIGN §5: every hour goes somewhere named). The branch meets the
demand first (compliance): paperwork ``P_b = min(cap_b, h D_b)``. Of the free hours
``F_b = cap_b - P_b`` a share ``B_b`` (the integration effort, §5.7) is integration work
``J_b``; the rest goes to service and organisational life by weights. What ``J_b`` is depends
on the fusion mode (paper 3):

* ``integrated`` (融合): joint party-business work; it lifts the business (§5.7) and counts as
  organisational life of quality ``model.integration_life``;
* ``isolated`` (两张皮): party activities kept apart from the business: ritual organisational
  life of quality ``model.ritual_quality`` < 1, no lift;
* ``generalized`` (泛化): party activity that displaces the business: organisational life (of
  full quality), business falls (§5.7);
* ``narrowed`` (党务代替党建): records, i.e. paperwork (so in this mode burden rises by
  definition: the validation table says so).

Invariant (checked every step in the tests): paperwork + service + life + joint = capacity.
Support hours from the committees (§5.3) come on top, to service. ``burden = P_b / cap_b``.

Anchors: Holmstrom and Milgrom (1991), multitask incentives: effort shifts to what is measured;
Li, Liu, Weng and Zhou (2019), target escalation in multi-layer tournaments.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.params import ModelParams, PolicyParams
from sim.state import Branches, Events, Hierarchy, State

#: What an hour of integration work counts as, as organisational life, in each fusion mode
#: (a string names the model parameter that holds it).
JOINT_LIFE = {
    "integrated": "integration_life",
    "isolated": "ritual_quality",
    "generalized": 1.0,
    "narrowed": 0.0,
}


def effective_heads(departments: int, unified_table: bool, overlap: float) -> float:
    """``H_eff``: separate tables ``H``; one unified table ``1 + (H - 1)(1 - omega)``."""
    if not unified_table:
        return float(departments)
    return 1.0 + (departments - 1) * (1.0 - overlap)


def chain_factor(
    margin: np.ndarray, parent: np.ndarray, level: np.ndarray, simplify: float
) -> np.ndarray:
    """Per committee, prod over itself and the committees above it of ``(1 + e_l)(1 - s)``.

    Computed top-down, one pass per level (a handful).
    """
    own = (1.0 + margin) * (1.0 - simplify)
    out = own.copy()
    for lv in range(1, int(level.max(initial=0)) + 1):
        at = np.flatnonzero(level == lv)
        out[at] = own[at] * out[parent[at]]
    return out


def branch_demand(b: Branches, h: Hierarchy, p: ModelParams, policy: PolicyParams) -> np.ndarray:
    """``D_b`` of every branch (indicators a week), through its own chain of committees."""
    simplify = p.simplify_share if policy.simplify_downward else 0.0
    chain = chain_factor(h.margin, h.committee_parent, h.committee_level, simplify)
    heads = effective_heads(p.departments, policy.unified_table, p.indicator_overlap)
    trace = policy.trace_requirement
    if policy.evaluation == "outcomes":
        trace = trace * (1.0 - p.outcome_trace_relief)
    return p.base_demand * chain[b.committee] * heads * (1.0 + trace)


class Allocation(NamedTuple):
    """Where each branch's hours go this week (arrays over branches)."""

    burden: np.ndarray  #: paperwork share of capacity, in [0, 1]
    paperwork: np.ndarray  #: hours of paperwork (integration hours included if narrowed)
    service: np.ndarray  #: hours of service to the masses
    life: np.ndarray  #: hours of ordinary organisational life
    joint: np.ndarray  #: hours of integration work J_b (0 if narrowed: they are paperwork)
    free: np.ndarray  #: share of capacity the assessment leaves free, ``1 - min(cap, P) / cap``


def allocate_hours(
    capacity: np.ndarray,
    paper: np.ndarray,
    integration: np.ndarray | float,
    mode: str,
    split_service: float,
    split_life: float,
) -> Allocation:
    """Paperwork first, then the free hours: integration work, service and life.

    Args:
        capacity: ``cap_b``, hours a week of each branch.
        paper: Hours the assessment demands (capped at the capacity here).
        integration: ``B_b``, share of the free hours meant for integration work.
        mode: Fusion mode; in ``narrowed`` mode the integration hours are paperwork.
        split_service: Weight of service in the rest of the free hours.
        split_life: Weight of organisational life in the rest of the free hours.

    Returns:
        The :class:`Allocation`; ``paperwork + service + life + joint == capacity``.
    """
    cap = np.asarray(capacity, dtype=float)
    paper = np.minimum(cap, paper)
    free = cap - paper
    free_share = np.divide(free, cap, out=np.zeros_like(cap), where=cap > 0)
    joint = np.asarray(integration, dtype=float) * free
    rest = free - joint
    total = split_service + split_life
    service = rest * (split_service / total)
    life = rest - service
    if mode == "narrowed":
        paper, joint = paper + joint, np.zeros_like(cap)
    burden = np.divide(paper, cap, out=np.ones_like(cap), where=cap > 0)
    return Allocation(burden, paper, service, life, joint, free_share)


def joint_life_quality(p: ModelParams, mode: str) -> float:
    """What an hour of integration work counts as, as organisational life, in ``mode``."""
    q = JOINT_LIFE[mode]
    return float(getattr(p, q) if isinstance(q, str) else q)


def effective_life(b: Branches, p: ModelParams, mode: str) -> np.ndarray:
    """Organisational-life hours of each branch, weighted by quality: ``L_b + q_mode J_b``."""
    return b.life + joint_life_quality(p, mode) * b.joint


def step(state: State, p: ModelParams, policy: PolicyParams) -> Events:
    """Demand down each branch's chain of committees; the branch's hours this week.

    Writes the branches' ``capacity`` (a fixed part plus one per member), ``demand``,
    ``burden``, ``paperwork``, ``service``, ``life``, ``joint`` and ``free``.
    """
    b = state.branches
    b.capacity = p.hours_base + p.hours_per_member * b.members  # a fixed part, one per member
    b.demand = branch_demand(b, state.hierarchy, p, policy)
    alloc = allocate_hours(
        b.capacity,
        p.hours_per_indicator * b.demand,
        b.effort,
        policy.fusion_mode,
        p.split_service,
        p.split_life,
    )
    b.burden, b.paperwork, b.service = alloc.burden, alloc.paperwork, alloc.service
    b.life, b.joint, b.free = alloc.life, alloc.joint, alloc.free
    return Events()
