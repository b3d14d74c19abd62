"""Sensing: branches and partnered organisations report, committees perceive and support
(DESIGN §5.3, Appendix A; paper 1.3, 4.2).

Paper 1.3 (基层"面"): the grassroots branch is "the front end of social sensing" (社会感知的
前端), "the nerve endings of the whole party organisation" that perceive changes in the society
they touch and feed the centre's decisions; 2 ("保持整个党组织系统对社会的敏感触觉、对信息的
流畅传递") asks for a sensitive touch and a smooth flow of information; 4.2 asks the party to
learn through social organisations what the groups they link want.

Each week:

1. **Observation.** A branch's constituency is the masses tied to its members on the layers
   open to them (work for unit and joint branches, residence for community branches and for
   dual-registered members, online for platform and online branches); its true need ``T_b`` is
   the mean need there (ties counted with multiplicity). Only engaged members pass it on, so a
   branch without an engaged member reports nothing. A partnered social organisation reports
   its members' mean need; it reaches the committees through the community branch of the
   community it is based in (averaged with that branch's own report, or instead of it).
   Reports carry noise ``N(0, model.sensing_noise)`` and are clipped to [0, 1].
2. **Transmission and belief, layer by layer** (Williamson 1967, control loss). A branch's
   report reaches its committee (the lowest level, street or township) after
   ``model.sensing_delay`` weeks; every committee above hears from the committees below it, a
   delay later, their picture: the member-weighted mean of their beliefs about what lies
   under them. At each layer a share ``1 - alpha`` of what is sent is lost (``alpha =
   policy.sensing_fidelity``) and replaced by what the receiving committee already thinks of
   the sender, its preconception ``xi`` (drawn once around the mean of the first reports, with
   the spread of real differences between communities, ``model.need_spread``, but unrelated to
   them): the committee perceives ``alpha R + (1 - alpha) xi``. So control loss is a pure loss
   and compounds with depth: the top's picture of a branch has passed ``d`` layers. Each
   committee keeps a belief about each unit below it and moves it toward what it perceives at
   ``model.belief_rate`` a week; a unit that sends nothing (a branch without engaged members:
   a blind spot) drifts toward the preconception: its picture goes stale.
3. **Allocation, top down.** Support hours (``model.support_hours`` per member) start at the
   top; every committee splits what it has among the units below it (committees, then
   branches): a share ``model.support_equal_share`` equally per member, the rest in proportion
   to its belief about their need times their members. Support adds to the branch's service
   (§5.4). Better sensing therefore puts support where needs are, which resolves more of them.

Outcome ``sensing_error``: the member-weighted mean of ``|belief_b - T_b|`` (the lowest
committees' beliefs against the truth) over branches with a constituency, blind spots included.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp

from sim.mechanisms.service import MemberReach, member_layers
from sim.mechanisms.social_orgs import OrgBridge
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
    kind = branch_kind[bs] if nb else np.zeros(ids.size, np.int8)
    per_member = reach.count_masses(member_layers(kind, dual_registered[ids]), mass, need)
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


def allocate_support(
    belief: np.ndarray, size: np.ndarray, budget: float, equal_share: float
) -> np.ndarray:
    """Support hours per branch: ``equal_share`` of the budget per member, the rest in
    proportion to believed need x members (by members alone if no need is believed)."""
    size = np.asarray(size, dtype=float)
    members = size.sum()
    if members <= 0 or budget <= 0:
        return np.zeros(size.size)
    weight = np.maximum(np.nan_to_num(belief), 0.0) * size
    total = weight.sum()
    if total <= 0:
        weight, total = size, members
    return budget * (equal_share * size / members + (1.0 - equal_share) * weight / total)


def org_reports(
    members: sp.csr_array,
    partnered: np.ndarray,
    org_branch: np.ndarray,
    need: np.ndarray,
    n_branches: int,
    bridge: OrgBridge | None = None,
) -> np.ndarray:
    """Per branch, the mean of the partnered organisations' reports that come through it.

    Args:
        members: People x organisations membership.
        partnered: Per organisation, partnered with the party.
        org_branch: Per organisation, the branch its reports go through (-1: none).
        need: Per person, an unmet need.
        n_branches: Number of branches.
        bridge: The organisations' relay built from ``members`` (its cached sizes and
            membership block are used instead of summing the whole matrix).

    Returns:
        Mean need of the members of the reporting organisations, per branch (NaN: none).
    """
    if bridge is None:
        size = np.asarray(members.sum(axis=0)).ravel()
    else:
        size = bridge.size
    ok = partnered & (org_branch >= 0) & (size > 0)
    if not ok.any():
        return np.full(n_branches, np.nan)
    if bridge is None:
        needy = members.T @ need.astype(np.float32)
    else:
        needy = bridge.count(need)
    mean = needy[ok] / size[ok]
    total = np.bincount(org_branch[ok], weights=mean, minlength=n_branches)
    count = np.bincount(org_branch[ok], minlength=n_branches)
    return mean_or_nan(total, count)


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


def preconceive(
    belief: np.ndarray, preconception: np.ndarray, level: float, spread: float, rng
) -> None:
    """Give every unit not pictured yet a preconception around ``level`` (in place); its belief
    starts there."""
    fresh = np.isnan(preconception)
    if fresh.any():
        draw = np.exp(spread * rng.standard_normal(int(fresh.sum())) - spread**2 / 2)
        preconception[fresh] = np.clip(level * draw, 0.0, 1.0)
        belief[fresh] = preconception[fresh]


def update_belief(
    belief: np.ndarray,
    preconception: np.ndarray,
    arrived: np.ndarray,
    fidelity: float,
    rate: float,
) -> np.ndarray:
    """A committee's belief after this week's news, one layer of control loss on the way.

    With a report: toward ``fidelity * report + (1 - fidelity) * preconception``; without one
    (a blind spot): toward the preconception (the picture goes stale).
    """
    perceived = control_loss(arrived, preconception, fidelity, 1)
    target = np.where(np.isfinite(perceived), perceived, preconception)
    return belief + rate * (target - belief)


def committee_members(b_committee: np.ndarray, members: np.ndarray, h) -> np.ndarray:
    """Members under each committee: its branches' and, up the tree, its child committees'."""
    out = np.bincount(b_committee, weights=members, minlength=h.committee_level.size)
    for lv in range(int(h.committee_level.max(initial=0)), 0, -1):
        at = np.flatnonzero(h.committee_level == lv)
        np.add.at(out, h.committee_parent[at], out[at])
    return out


def committee_pictures(b, h, under: np.ndarray) -> np.ndarray:
    """What each committee reports up: the member-weighted mean of its beliefs about its
    branches (lowest level) or about its child committees (levels above), bottom-up."""
    n = h.committee_level.size
    w = np.nan_to_num(b.belief) * b.members
    total = np.bincount(b.committee, weights=w, minlength=n)
    for lv in range(int(h.committee_level.max(initial=0)), 0, -1):
        at = np.flatnonzero(h.committee_level == lv)
        np.add.at(total, h.committee_parent[at], np.nan_to_num(h.belief[at]) * under[at])
    return np.divide(total, under, out=np.full(n, np.nan), where=under > 0)


def allocate_down(b, h, under: np.ndarray, budget: float, equal_share: float) -> np.ndarray:
    """Support hours per branch: each committee, from the top down, splits what it has among
    its children (committees, then branches) by what it believes of them."""
    n = h.committee_level.size
    have = np.zeros(n)
    top = h.committee_level == 0
    have[top] = allocate_support(np.ones(int(top.sum())), under[top], budget, 1.0)
    for lv in range(1, int(h.committee_level.max(initial=0)) + 1):
        at = np.flatnonzero(h.committee_level == lv)
        have[at] = _split(h.committee_parent[at], h.belief[at], under[at], have, equal_share)
    return _split(b.committee, b.belief, b.members, have, equal_share)


def _split(parent, belief, size, have, equal_share) -> np.ndarray:
    """Each parent's hours over its children: equal per member, the rest by belief x members."""
    n = have.size
    size = np.asarray(size, dtype=float)
    members = np.bincount(parent, weights=size, minlength=n)
    weight = np.maximum(np.nan_to_num(belief), 0.0) * size
    weights = np.bincount(parent, weights=weight, minlength=n)
    by_need = np.divide(weight, weights[parent], out=np.zeros(size.size), where=weights[parent] > 0)
    by_size = np.divide(size, members[parent], out=np.zeros(size.size), where=members[parent] > 0)
    by_need = np.where(weights[parent] > 0, by_need, by_size)
    return have[parent] * (equal_share * by_size + (1.0 - equal_share) * by_need)


def step(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    reach: MemberReach,
    bridge: OrgBridge | None = None,
) -> Events:
    """Branches and partnered organisations report; every committee updates its beliefs about
    the units below it; support goes down the hierarchy by what each committee believes.

    Writes the branches' ``true_need``, ``reporting``, ``preconception``, ``belief`` and
    ``support``, the committees' ``belief`` and ``preconception``, the reports in transit and
    the error of the committees' picture of the branches.
    """
    people, b, h, orgs = state.people, state.branches, state.hierarchy, state.orgs
    alpha, rate = policy.sensing_fidelity, p.belief_rate
    ids = reach.ids  # the members whose ties the reach operator holds
    engaged = (people.home_branch[ids] >= 0) & (people.commitment[ids] > p.engaged_level)
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
    own = np.where(b.reporting, b.true_need, np.nan)
    via_orgs = org_reports(
        orgs.members, orgs.partnered, h.community_branch[orgs.community], people.need, b.n, bridge
    )
    both = np.isfinite(own) & np.isfinite(via_orgs)
    seen = np.where(both, (own + via_orgs) / 2, np.where(np.isfinite(own), own, via_orgs))
    report = noisy_report(seen, p.sensing_noise, rng)
    # the lowest committees hear from their branches, one layer and one delay away
    arrived = send_report(h.reports, report, p.sensing_delay)
    finite = arrived[np.isfinite(arrived)]
    # the level a new branch's preconception starts from: this week's reports, else what the
    # committees already believe, else nothing heard yet at all (0)
    known = b.belief[np.isfinite(b.belief)] if b.n else b.belief
    level = float(finite.mean()) if finite.size else float(known.mean()) if known.size else 0.0
    preconceive(b.belief, b.preconception, level, p.need_spread, rng)
    b.belief = update_belief(b.belief, b.preconception, arrived, alpha, rate)
    # committees above hear from the committees below (their picture), a layer and a delay up
    under = committee_members(b.committee, b.members, h)
    if h.belief is None:
        h.belief = np.full(h.committee_level.size, np.nan)
        h.preconception = np.full(h.committee_level.size, np.nan)
    preconceive(h.belief, h.preconception, level, p.need_spread, rng)
    pictures = committee_pictures(b, h, under)
    heard = send_report(h.committee_reports, pictures, p.sensing_delay)
    h.belief = update_belief(h.belief, h.preconception, heard, alpha, rate)
    budget = p.support_hours * float(b.members.sum())
    b.support = allocate_down(b, h, under, budget, p.support_equal_share)
    h.sensing_error = sensing_error(b.belief, np.nan_to_num(b.true_need), ties > 0, b.members)
    return Events()
