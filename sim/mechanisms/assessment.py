"""Assessment and burden: how much of a branch's capacity goes to paperwork (DESIGN §5.2).

Paper 1.1 ("明确越往下考核工作越要简化，不得层层加码，解决多头考核、重痕轻绩等问题") and 3.1
("党务工作层层加码、考核台账越垒越高", "一表统管", "避免多头重复考核、膨胀加码考核"): assessment
demands issued by the committees and their work departments pile up on the way down and crowd
out the branch's real work.

Demand reaching a branch at depth ``d`` below the top committee (DESIGN Appendix A)::

    D_b = D0 * g(d) * H * (1 + trace)
    g(d) = (1 + escalation)^d          each layer crossed adds its own margin (层层加码)
    g(d) = (1 - s)^d                   with simplify_downward: each layer removes a share s
    H    = departments                 each work department assesses separately (多头考核)
    H    = 1                           with unified_table (一表统管)

``D0`` is the number of base indicators one department sets at the top (``model.base_demand``),
``trace`` the extra documentation each indicator must leave behind (留痕,
``policy.trace_requirement``). The branch meets the demand from its capacity first
(compliance): paperwork hours ``P_b = min(cap_b, h D_b)`` with ``h`` hours per indicator
(``model.hours_per_indicator``), and ``burden = P_b / cap_b``. The free hours ``cap_b - P_b``
are split by :func:`allocate_capacity`: a share ``B_b`` (the branch's integration effort,
DESIGN §5.7) goes to work with the unit's business, the rest to service and organisational life
in the ratio ``model.split_service : model.split_life``. The fusion mode decides what the
integration hours are (``sim.mechanisms.fusion``): with ``narrowed`` they become paperwork, with
``integrated`` a share ``model.integration_life`` of them also counts as organisational life.

Anchors: Holmstrom and Milgrom (1991), multitask incentives: effort shifts to what is measured,
so measured paperwork crowds out unmeasured service; Li, Liu, Weng and Zhou (2019), target
escalation in a multi-layer tournament: each layer adds a margin to the target it passes down,
which compounds geometrically with depth.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.params import ModelParams, PolicyParams
from sim.state import Events, State


def demand_factor(
    depth: np.ndarray | int,
    escalation: float,
    simplify_downward: bool = False,
    simplify_share: float = 0.0,
) -> np.ndarray:
    """``g(d)``: ``(1 + escalation)^d``, or ``(1 - s)^d`` when simplifying downward."""
    d = np.asarray(depth, dtype=float)
    if simplify_downward:
        return (1.0 - simplify_share) ** d
    return (1.0 + escalation) ** d


def assessment_demand(
    base: float,
    depth: np.ndarray | int,
    *,
    escalation: float,
    departments: int,
    unified_table: bool,
    trace: float,
    simplify_downward: bool = False,
    simplify_share: float = 0.0,
) -> np.ndarray:
    """``D_b = D0 g(d) H (1 + trace)``: assessment indicators reaching a branch at depth ``d``.

    Args:
        base: ``D0``, base indicators one department issues at the top.
        depth: Layers between the top committee and the branch (``model.levels - 1``).
        escalation: Margin each layer adds (``policy.escalation``).
        departments: Work departments per committee (``model.departments``).
        unified_table: One unified assessment table (then ``H = 1``).
        trace: Documentation required per indicator (``policy.trace_requirement``).
        simplify_downward: Each layer removes a share instead of adding a margin.
        simplify_share: ``s``, the share each layer removes (``model.simplify_share``).
    """
    heads = 1 if unified_table else departments
    g = demand_factor(depth, escalation, simplify_downward, simplify_share)
    return base * g * heads * (1.0 + trace)


def paperwork_hours(
    capacity: np.ndarray, demand: np.ndarray | float, hours_per_indicator: float
) -> np.ndarray:
    """``P_b = min(cap_b, h D_b)``: hours a week spent meeting the assessment."""
    return np.minimum(np.asarray(capacity, dtype=float), hours_per_indicator * demand)


class Allocation(NamedTuple):
    """Where each branch's hours go this week (arrays over branches)."""

    burden: np.ndarray  #: paperwork share of capacity, in [0, 1]
    paperwork: np.ndarray  #: hours of paperwork (assessment, plus integration hours if narrowed)
    service: np.ndarray  #: hours of service to the masses
    life: np.ndarray  #: hours of organisational life (joint work included if integrated)
    business: np.ndarray  #: hours of work with the unit's business (0 if narrowed)
    free: np.ndarray  #: share of capacity the assessment leaves free, ``1 - min(cap, P) / cap``


def allocate_capacity(
    capacity: np.ndarray,
    paper: np.ndarray,
    integration: np.ndarray | float,
    mode: str,
    split_service: float,
    split_life: float,
    integration_life: float = 0.0,
) -> Allocation:
    """Paperwork first, then the free hours by the fusion mode (Appendix A, DESIGN §5.7).

    Args:
        capacity: ``cap_b``, hours a week of each branch.
        paper: Hours the assessment demands (capped at the capacity here).
        integration: ``B_b``, share of the free hours meant for work with the unit's business.
        mode: Fusion mode (``sim.mechanisms.fusion.MODES``).
        split_service: Weight of service in the rest of the free hours.
        split_life: Weight of organisational life in the rest of the free hours.
        integration_life: Share of integrated joint work that also counts as organisational
            life (only in ``integrated`` mode).

    Returns:
        The :class:`Allocation`. In ``narrowed`` mode the integration hours are added to the
        paperwork (and so to the burden) and business hours are zero.
    """
    cap = np.asarray(capacity, dtype=float)
    paper = np.minimum(cap, paper)
    free = cap - paper
    free_share = np.divide(free, cap, out=np.zeros_like(cap), where=cap > 0)
    joint = np.asarray(integration, dtype=float) * free
    rest = free - joint
    total = split_service + split_life
    service = rest * (split_service / total)
    life = rest * (split_life / total)
    if mode == "narrowed":
        paper = paper + joint
        business = np.zeros_like(cap)
    else:
        business = joint
        if mode == "integrated":
            life = life + integration_life * joint
    burden = np.divide(paper, cap, out=np.ones_like(cap), where=cap > 0)
    return Allocation(burden, paper, service, life, business, free_share)


def demand(p: ModelParams, policy: PolicyParams, depth: int) -> float:
    """This week's demand on a branch ``depth`` layers below the top committee."""
    return float(
        assessment_demand(
            p.base_demand,
            depth,
            escalation=policy.escalation,
            departments=p.departments,
            unified_table=policy.unified_table,
            trace=policy.trace_requirement,
            simplify_downward=policy.simplify_downward,
            simplify_share=p.simplify_share,
        )
    )


def step(state: State, p: ModelParams, policy: PolicyParams) -> Events:
    """Demand down the hierarchy, paperwork first, then the free hours by the fusion mode.

    Writes the branches' ``burden``, ``service``, ``life``, ``business`` and ``free``.
    """
    b = state.branches
    paper = paperwork_hours(b.capacity, demand(p, policy, p.levels - 1), p.hours_per_indicator)
    alloc = allocate_capacity(
        b.capacity,
        paper,
        b.effort,
        policy.fusion_mode,
        p.split_service,
        p.split_life,
        p.integration_life,
    )
    b.burden, b.service, b.life = alloc.burden, alloc.service, alloc.life
    b.business, b.free = alloc.business, alloc.free
    return Events()
