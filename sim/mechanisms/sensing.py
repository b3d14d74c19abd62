"""Sensing: branches sense the grassroots, committees allocate support (DESIGN §5.3).

Paper 1.3 (基层"面"): the grassroots branch is "the front end of social sensing" (社会感知的
前端), "the nerve endings of the whole party organisation" that perceive changes in the society
they touch and feed the centre's decisions; 2 ("保持整个党组织系统对社会的敏感触觉、对信息的
流畅传递") asks for a sensitive touch and a smooth flow of information.

Each week:

1. **Observation.** A branch's constituency is the masses tied to its members on the layers
   open to them (work for unit and joint branches, residence for community branches and for
   dual-registered members, online for platform and online branches); its true need ``T_b`` is
   the mean need there (ties counted with multiplicity): every member knows the needs of the
   people around it. Only engaged members take the trouble to pass this on, so a branch with
   no engaged member sends no report; a branch with one reports ``T_b`` plus report noise
   ``N(0, model.sensing_noise)``, clipped to [0, 1].
2. **Transmission.** Reports travel up ``d = model.levels - 1`` layers to the top committee,
   taking ``model.sensing_delay`` weeks per layer, and lose fidelity at each layer (Williamson
   1967, control loss): the committee sees

       S_b = alpha^d * R_b + (1 - alpha^d) * prior,

   ``alpha = policy.sensing_fidelity``. The prior is the committee's standing picture: the
   mean of the first reports it received (a baseline survey, not updated), and a missing report
   is read as the prior. With ``alpha < 1`` differences between branches fade on the way up and
   the picture lags behind change. (A prior updated to the mean of current reports would act as
   a shrinkage estimator and could make a lossy channel look better than a faithful one; the
   fixed prior keeps control loss a pure loss.)
3. **Allocation.** The committees distribute support hours, ``model.support_hours`` per member
   of a branch, to branches in proportion to the need they see times the branch's size; support
   adds to the branch's service hours.

Outcome ``sensing_error``: the mean over branches with a constituency of ``|S_b - T_b|``,
weighted by members (as ``burden`` is): the committee's picture against this week's truth. It
adds up report noise, blind spots (a branch without engaged members reports nothing and is read
as the prior, so a burdened, disengaged organisation senses worse), delay and control loss.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from sim.mechanisms.service import MemberReach, member_layers
from sim.params import ModelParams, PolicyParams
from sim.state import Events, State


def control_loss(
    estimate: np.ndarray | float, prior: np.ndarray | float, fidelity: float, layers: int
) -> np.ndarray:
    """What a committee ``layers`` layers up sees: ``a^d * estimate + (1 - a^d) * prior``."""
    keep = fidelity**layers
    return keep * np.asarray(estimate, dtype=float) + (1.0 - keep) * np.asarray(prior, float)


def branch_need(
    reach: MemberReach,
    home_branch: np.ndarray,
    branch_kind: np.ndarray,
    engaged: np.ndarray,
    dual_registered: np.ndarray,
    mass: np.ndarray,
    need: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Need in each branch's constituency, and how many engaged members can report it.

    Args:
        reach: The members' ties (``model.reach``; its ``ids`` are the current members).
        home_branch: Home branch of every person (-1: none).
        branch_kind: Kind of every branch.
        engaged: Per member (aligned with ``reach.ids``), whether the member is engaged.
        dual_registered: Per person, dual registration in the residential community.
        mass: Per person, not a member.
        need: Per person, an unmet need.

    Returns:
        ``(needy_ties, mass_ties, reporters)`` per branch: the members' ties (on the layers
        open to them) to masses with a need and to all masses, and the number of engaged
        members.
    """
    nb = branch_kind.size
    ids = reach.ids
    b = home_branch[ids]
    has = b >= 0
    bs = np.where(has, b, 0)
    values = np.column_stack([mass, mass & need]).astype(np.float32)
    per_member = np.zeros((ids.size, 2))
    kind = branch_kind[bs] if nb else np.zeros(ids.size, np.int8)
    for layer, on in member_layers(kind, dual_registered[ids]).items():
        if layer in reach.out and on.any():
            per_member += (reach.out[layer].T @ values) * on[:, None]
    w = has.astype(float)
    needy = np.bincount(bs, weights=per_member[:, 1] * w, minlength=nb)
    ties = np.bincount(bs, weights=per_member[:, 0] * w, minlength=nb)
    reporters = np.bincount(bs, weights=(engaged & has).astype(float), minlength=nb)
    return needy, ties, reporters


def mean_or_nan(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, NaN elsewhere."""
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def noisy_report(seen_mean: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """A branch's report: what it sees plus ``N(0, noise)``, clipped to [0, 1] (NaN stays)."""
    if noise > 0:
        seen_mean = seen_mean + noise * rng.standard_normal(seen_mean.size)
    return np.clip(seen_mean, 0.0, 1.0)


def send_report(queue: deque, report: np.ndarray, delay: int) -> np.ndarray:
    """Send this week's reports up a channel ``delay`` weeks long; return those that arrive.

    Before ``delay`` weeks have passed the oldest report sent so far arrives. When the number
    of branches has grown since an older report was sent, it is padded with NaN (no report).
    """
    queue.append(np.array(report, dtype=float))
    while len(queue) > delay + 1:
        queue.popleft()
    out = queue[0]
    n = report.size
    if out.size < n:
        out = np.concatenate([out, np.full(n - out.size, np.nan)])
    return out[:n]


def mean_report(reports: np.ndarray) -> float:
    """Mean of the reports that exist (NaN: no report), 0 if there are none."""
    finite = np.isfinite(reports)
    return float(reports[finite].mean()) if finite.any() else 0.0


def perceive(arrived: np.ndarray, prior: float, fidelity: float, layers: int) -> np.ndarray:
    """What the top committee sees of each branch after control loss over ``layers`` layers.

    A missing report (NaN) is read as the prior.
    """
    filled = np.where(np.isfinite(arrived), arrived, prior)
    return control_loss(filled, prior, fidelity, layers)


def allocate_support(seen: np.ndarray, size: np.ndarray, budget: float) -> np.ndarray:
    """Support hours per branch, in proportion to seen need x size (by size if nothing seen)."""
    weight = np.maximum(seen, 0.0) * size
    total = weight.sum()
    if total <= 0:
        weight, total = np.asarray(size, dtype=float), float(np.sum(size))
    if total <= 0:
        return np.zeros(seen.size)
    return budget * weight / total


def sensing_error(
    seen: np.ndarray, truth: np.ndarray, valid: np.ndarray, weight: np.ndarray | None = None
) -> float:
    """Mean ``|seen - truth|`` over the valid branches, weighted (0 if the weights sum to 0)."""
    w = valid.astype(float) if weight is None else np.where(valid, weight, 0.0)
    total = w.sum()
    if total <= 0:
        return 0.0
    gap = np.abs(np.where(valid, seen - truth, 0.0))
    return float((gap * w).sum() / total)


def step(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    reach: MemberReach,
) -> Events:
    """Branches report the need they see; the committees perceive it and allocate support.

    Writes the branches' ``true_need``, ``reporting``, ``seen_need`` and ``support`` (added to
    their ``service``), the reports in transit and the committees' prior and error.
    """
    people, b, h = state.people, state.branches, state.hierarchy
    depth = p.levels - 1
    ids = reach.ids  # the members whose ties the reach operator holds
    engaged = (people.home_branch[ids] >= 0) & (people.x[ids] > p.engaged_level)
    needy, ties, reporters = branch_need(
        reach,
        people.home_branch,
        b.kind,
        engaged,
        people.dual_registered,
        ~people.member,
        people.need,
    )
    b.true_need = mean_or_nan(needy, ties)
    b.reporting = reporters > 0
    seen = np.where(b.reporting, b.true_need, np.nan)
    report = noisy_report(seen, p.sensing_noise, rng)
    arrived = send_report(h.reports, report, p.sensing_delay * depth)
    if h.prior is None:  # the committee's baseline picture: its first reports
        h.prior = mean_report(arrived)
    b.seen_need = perceive(arrived, h.prior, policy.sensing_fidelity, depth)
    budget = p.support_hours * float(b.members.sum())
    b.support = allocate_support(b.seen_need, b.members, budget)
    b.service = b.service + b.support
    h.sensing_error = sensing_error(b.seen_need, np.nan_to_num(b.true_need), ties > 0, b.members)
    return Events()
