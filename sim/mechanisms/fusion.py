"""Party-business integration: business performance and effect-oriented learning (DESIGN §5.7).

Paper section 三 ("力促融合党建"): party work should be fused with the unit's actual business.
It names three failures and one success, the four ``policy.fusion_mode`` values:

* ``narrowed`` (党务代替党建, 3.1): party affairs replace party building; the hours meant for
  business integration turn into paperwork (ledgers, records), so they raise the branch's
  paperwork share (see :func:`sim.mechanisms.assessment.allocate_hours`) and lift nothing.
* ``isolated`` (两张皮, 3.2): party work and business run side by side; the integration hours
  are spent on party activities that never touch the business, so performance stays at ``p0``.
* ``integrated`` (一股绳, 3.2): joint work lifts performance with diminishing and finally
  negative returns, an inverted U in the integration effort ``B`` (the share of the branch's
  free hours spent on joint party-business work)::

      p(B) = p0 + f (b1 B - b2 B^2),   b1 < 2 b2, so the peak B* = b1 / (2 b2) lies in (0, 1).

  Past the peak party work starts to crowd out the business itself, the paper's boundary
  ("清晰的边界感", 3.3). ``f = 1 - P_b / cap_b`` is the share of the branch's capacity the
  assessment leaves free: a branch drowned in paperwork has no hours to integrate with, so its
  lift (or harm) shrinks with its burden. ``f`` scales the curve without moving its peak.
* ``generalized`` (泛化, 3.3): party work replaces the business: ``p(B) = p0 - f b3 B``.

Anchor for the inverted U: Holmstrom and Milgrom (1991), multitask agency: effort pulled toward
one task is taken from others, so a moderate allocation beats both extremes.

**Evaluation** (``policy.evaluation``; paper 3.1 "建立科学的党建工作评价体系", 3.3 "要树立基层
党建工作的效能导向 ... 更要看党建促业务的实际效果怎么样"). With ``outcomes`` the organisation's
code (the prescribed share ``B`` of free hours for integration) learns from the branches whose
party work does more for their units than average, and branches learn from the code, with some
exploration: March's (1991) mutual-learning model of exploration and exploitation, one round a
week::

    code += p2 * (mean B of the superior branches - code)
    B_b  += p1 * (code - B_b) + N(0, sigma_x)

The superior branches are those with an above-average observed effect ``(p_b - p0) / f_b`` plus
measurement noise (:func:`observed_effect`), among branches attached to a unit. Learning runs
only in the modes where party work touches the business (``integrated``, ``generalized``); in
``isolated`` and ``narrowed`` modes there is no effect to evaluate and the code stays put. With
``traces`` the assessment looks at records, not results, so neither the code nor the branches
learn: every branch keeps the effort it was set (``policy.integration_effort`` plus the initial
spread across branches).
"""

from __future__ import annotations

import numpy as np

from sim.params import ModelParams, PolicyParams
from sim.state import Events, State, at_branch

#: The four modes of party-business integration (``policy.fusion_mode``).
MODES = ("narrowed", "isolated", "integrated", "generalized")
#: What the assessment looks at (``policy.evaluation``).
EVALUATIONS = ("traces", "outcomes")
#: Modes in which party work touches the business, so that its effect can be evaluated.
LEARNING_MODES = ("integrated", "generalized")


def performance(
    effort: np.ndarray | float,
    mode: str,
    base: float,
    lift: float,
    curvature: float,
    displacement: float,
    free: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Business performance index of a unit whose branch spends share ``effort`` on integration.

    Args:
        effort: ``B`` in [0, 1], the share of the branch's free hours spent on joint work.
        mode: One of :data:`MODES`.
        base: ``p0``, performance without any integration.
        lift: ``b1``, the linear gain of integrated work.
        curvature: ``b2``, the quadratic loss of integrated work.
        displacement: ``b3``, the loss per unit of effort when party work replaces business.
        free: ``f``, the share of the branch's capacity the assessment leaves free.

    Returns:
        ``p(B)`` with the broadcast shape of ``effort`` and ``free``.
    """
    e = np.asarray(effort, dtype=float)
    f = np.asarray(free, dtype=float)
    if mode == "integrated":
        return base + f * (lift * e - curvature * e**2)
    if mode == "generalized":
        return base - f * displacement * e
    if mode in ("isolated", "narrowed"):
        return np.full(np.broadcast(e, f).shape, float(base))
    raise ValueError(f"fusion mode {mode!r}: must be one of {', '.join(MODES)}")


def peak_effort(lift: float, curvature: float) -> float:
    """``B* = b1 / (2 b2)``, where the integrated curve peaks."""
    return lift / (2.0 * curvature)


def initial_effort(n: int, effort: float, spread: float, rng: np.random.Generator) -> np.ndarray:
    """Each branch's starting share of free capacity for integration: ``B0 + N(0, spread)``."""
    draw = effort + spread * rng.standard_normal(n) if spread > 0 else np.full(n, effort)
    return np.clip(draw, 0.0, 1.0)


def observed_effect(
    perf: np.ndarray,
    base: float,
    free: np.ndarray,
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """What an effect-oriented assessment sees: party work's effect on the business per unit of
    free capacity, ``(p_b - p0) / f_b``, plus measurement noise ``N(0, noise)``.

    Dividing by ``f`` judges each branch by what its party work did with the hours it had, so a
    branch is not ranked high merely for carrying less paperwork. Branches with ``f = 0`` get 0.
    """
    effect = np.divide(perf - base, free, out=np.zeros_like(perf), where=free > 0)
    if noise > 0:
        effect = effect + noise * rng.standard_normal(perf.size)
    return effect


def code_learning(
    effort: np.ndarray,
    code: float,
    observed: np.ndarray,
    learners: np.ndarray,
    code_rate: float,
    socialisation: float,
    exploration: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float]:
    """One week of March's (1991) mutual learning between the code and the branches.

    Args:
        effort: ``B_b`` of every branch.
        code: The organisation's prescribed effort.
        observed: Observed business performance of each branch's unit(s).
        learners: Branches that have a business to judge (a unit attached).
        code_rate: ``p2``, how fast the code moves toward the superior branches.
        socialisation: ``p1``, how fast branches move toward the code.
        exploration: ``sigma_x``, the spread of each branch's weekly trial-and-error.
        rng: Source of the exploration draws.

    Returns:
        The branches' new effort (clipped to [0, 1]) and the new code.
    """
    if learners.any():
        superior = learners & (observed > observed[learners].mean())
        if superior.any():
            code = code + code_rate * (float(effort[superior].mean()) - code)
    new = effort + socialisation * (code - effort)
    if exploration > 0:
        new = new + exploration * rng.standard_normal(effort.size)
    return np.clip(new, 0.0, 1.0), float(np.clip(code, 0.0, 1.0))


def unit_performance(unit_branch: np.ndarray, branch_perf: np.ndarray, base: float) -> np.ndarray:
    """Per unit: its branch's performance, or ``base`` for a unit without a branch."""
    return at_branch(np.asarray(branch_perf, dtype=float), unit_branch, float(base))


def business_performance(unit_branch: np.ndarray, unit_perf: np.ndarray) -> float:
    """Outcome: mean performance over the units attached to a branch (0 if there are none)."""
    has = unit_branch >= 0
    return float(unit_perf[has].mean()) if has.any() else 0.0


def update_performance(state: State, p: ModelParams, policy: PolicyParams) -> np.ndarray:
    """Each unit's business performance from this week's integration effort; per-branch perf."""
    b = state.branches
    perf = performance(
        b.effort,
        policy.fusion_mode,
        p.business_base,
        p.business_lift,
        p.business_curvature,
        p.business_displacement,
        b.free,
    )
    state.units.performance = unit_performance(state.units.branch, perf, p.business_base)
    return perf


def business_feedback(value: np.ndarray, delta: np.ndarray, rate: float) -> np.ndarray:
    """Move ``value`` in [0, 1] up with a positive ``delta`` (toward 1) and down with a negative
    one (toward 0), at ``rate`` per unit of ``delta``."""
    up = np.maximum(delta, 0.0) * (1.0 - value)
    down = np.maximum(-delta, 0.0) * value
    return np.clip(value + rate * (up - down), 0.0, 1.0)


def step(state: State, p: ModelParams, policy: PolicyParams, rng: np.random.Generator) -> Events:
    """Units' business performance and its feedback; evaluation by outcomes lets effort learn.

    Party work that visibly helps the unit's business raises its members' commitment and its
    other workers' identification; party work that displaces the business lowers them (paper
    3.2-3.3: 一股绳 versus 泛化). March's (1991) code learning from branches whose party work
    does more for their units runs only when ``policy.evaluation`` is ``outcomes`` and the mode
    links party work to the business; assessment by traces gives no signal to learn from.
    """
    b, people, units = state.branches, state.people, state.units
    perf = update_performance(state, p, policy)
    if p.business_feedback > 0:
        gap = units.performance - p.business_base
        # the workers of units off the base (a byte per person gathered, not a float)
        moved = np.flatnonzero(at_branch(gap != 0, people.unit, False))
        if moved.size:
            member = people.member[moved]
            d = gap[people.unit[moved]]
            m, w = moved[member], moved[~member]
            people.commitment[m] = business_feedback(
                people.commitment[m], d[member], p.business_feedback
            )
            for arr in (people.identification, people.anchor):
                arr[w] = business_feedback(arr[w], d[~member], p.business_feedback)
    if policy.evaluation != "outcomes" or policy.fusion_mode not in LEARNING_MODES:
        return Events()
    ub = state.units.branch
    learners = (np.bincount(ub[ub >= 0], minlength=b.n)[: b.n] > 0) & (b.free > 0)
    observed = observed_effect(perf, p.business_base, b.free, p.business_noise, rng)
    b.effort, b.code = code_learning(
        b.effort,
        b.code,
        observed,
        learners,
        p.code_learning,
        p.socialisation,
        p.exploration,
        rng,
    )
    return Events()
