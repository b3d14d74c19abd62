"""Member commitment and load (DESIGN §5.6, Appendix A; paper 1.3, 2.2, 2.3, 3.1).

Commitment ``c`` of a member (willingness to do party work) changes every week::

    c += a1 life_i (1 - c) + a2 w_i [answered] (1 - c) + a6 [serves neighbours] (1 - c)
         - a3 w_i [waiting] c - a4 max(0, load_i - L*) c - a5 [floating] c - a0 (c - c0_i)

* ``life_i``: organisational life, the branch's quality-weighted life hours per member
  (:func:`sim.mechanisms.assessment.effective_life`: ritual or integrated joint hours count at
  their quality) relative to a full programme (``model.life_hours``), capped at 1. A
  dual-registered member takes part in the community branch's life too (paper 2.2) and draws on
  the better of the two.
* ``answered`` / ``waiting``: the member's own problem (急难愁盼, arising at
  ``model.member_need_rate``) is answered through the party channel with weekly chance
  ``policy.responsiveness``; while it waits, commitment erodes. ``w_i`` weighs both for members
  outside the state system (``model.response_weight_outside``: they have no unit to turn to,
  paper 2.3, 有机性融入).
* ``serves neighbours``: an engaged dual-registered member gives service in the community
  (§5.4), which gives meaning (paper 2.2).
* ``load_i``: weekly hours of party work: home life per member, service hours per member if
  engaged, and, for a dual-registered member without mutual recognition (双边互认), the
  community's life a second time. Only load beyond what a member can carry (``L*``,
  ``model.load_capacity``) costs commitment, so duplication costs only where it overloads.
* ``floating``: a member without a branch (isolation).
* ``a0 (c - c0_i)``: without renewal, commitment returns to the member's own disposition
  ``c0_i`` (their commitment when the run began, or when they joined), so members keep their
  differences instead of converging on one value (an addition to DESIGN Appendix A).

Business performance feeds back too (§5.7, :mod:`.fusion`); admission sets a recruit's
commitment to their identification (§5.8). ``life_week`` records the last week a member had any
organisational life (read by membership change, §5.9).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.mechanisms.assessment import effective_life
from sim.params import ModelParams, PolicyParams
from sim.state import ANSWER_WEEKS, PROBLEM_RING, Events, State, at_branch


def life_per_member(life_hours: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Per branch: quality-weighted organisational-life hours per member (0 if empty)."""
    return np.divide(life_hours, members, out=np.zeros_like(life_hours), where=members > 0)


def update_commitment(
    c: np.ndarray,
    *,
    disposition: np.ndarray,
    life: np.ndarray,
    answered: np.ndarray,
    waiting: np.ndarray,
    weight: np.ndarray,
    serves: np.ndarray,
    overload: np.ndarray,
    floating: np.ndarray,
    p: ModelParams,
) -> np.ndarray:
    """One week of the commitment update above (arrays aligned over members), clipped to [0, 1]."""
    up = p.life_gain * life + p.response_gain * weight * answered + p.serve_gain * serves
    down = p.wait_loss * weight * waiting + p.overload_loss * overload + p.floating_loss * floating
    fade = p.commitment_decay * (c - disposition)
    return np.clip(c + up * (1.0 - c) - down * c - fade, 0.0, 1.0)


def member_load(
    life_hours: np.ndarray,
    service_hours: np.ndarray,
    engaged: np.ndarray,
    duplicate_life: np.ndarray,
) -> np.ndarray:
    """Hours a week each member gives to party work: life, service if engaged, duplication."""
    return life_hours + service_hours * engaged + duplicate_life


@numba.njit(cache=True, nogil=True)
def _member_week(  # pragma: no cover - compiled
    ids, home_branch, commitment, engaged_level, dual_registered, community, community_branch,
    life, service, life_hours, duplicated, load_capacity, dual_on,
    has, engaged, dual, life_out, load, overload, serves,
):  # fmt: skip
    """:func:`member_week_reference` in one pass over the members (same operations, same order,
    same dtypes: ``commitment`` and ``engaged_level`` in float32, the hours in float64).

    ``life`` and ``service`` are per branch (service already per member); a branch id of -1
    reads 0.
    """
    for j in range(ids.size):
        i = ids[j]
        hb = home_branch[i]
        h = hb >= 0
        e = h and commitment[i] > engaged_level
        home = life[hb] if h else 0.0
        d = dual_registered[i] and h
        cb = community_branch[community[i]]
        comm = (life[cb] if cb >= 0 else 0.0) if d else 0.0
        life_out[j] = min(max(home, comm) / life_hours, 1.0)
        hours = (home + ((service[hb] if h else 0.0) if e else 0.0)) + (comm if duplicated else 0.0)
        has[j], engaged[j], dual[j], serves[j] = h, e, d, d and e and dual_on
        load[j] = hours
        overload[j] = max(hours - load_capacity, 0.0)


class MemberWeek:
    """What the week offers each member: life, service hours, load (arrays over ``ids``).

    Attributes:
        has: the member has a home branch.
        engaged: ... and commitment above ``model.engaged_level``.
        dual: ... and is dual-registered in the community.
        life: organisational life relative to a full programme (capped at 1).
        load: weekly hours of party work (:func:`member_load`).
        overload: load beyond ``model.load_capacity``.
        serves: an engaged dual-registered member serving the community.
    """

    def __init__(self, state: State, p: ModelParams, policy: PolicyParams, ids: np.ndarray):
        people, b, h = state.people, state.branches, state.hierarchy
        life = life_per_member(effective_life(b, p, policy.fusion_mode), b.members)
        # per branch, service and support hours per member (0 in an empty branch): the
        # quotient the reference takes member by member, taken once per branch
        service = np.divide(
            b.service + b.support, b.members, out=np.zeros(b.n), where=b.members > 0
        )
        m = ids.size
        self.has, self.engaged, self.dual, self.serves = (np.empty(m, bool) for _ in range(4))
        self.life, self.load, self.overload = np.empty(m), np.empty(m), np.empty(m)
        _member_week(
            np.ascontiguousarray(ids, np.int64),
            people.home_branch,
            people.commitment,
            people.commitment.dtype.type(p.engaged_level),  # compared as numpy compares it
            people.dual_registered,
            people.community,
            h.community_branch,
            np.ascontiguousarray(life, np.float64),
            service,
            float(p.life_hours),
            not policy.mutual_recognition,
            float(p.load_capacity),
            p.dual_share > 0,
            self.has,
            self.engaged,
            self.dual,
            self.life,
            self.load,
            self.overload,
            self.serves,
        )


def member_week_reference(
    state: State, p: ModelParams, policy: PolicyParams, ids: np.ndarray
) -> dict[str, np.ndarray]:
    """:class:`MemberWeek` in plain numpy (the kernel's independent check)."""
    people, b, h = state.people, state.branches, state.hierarchy
    hb = people.home_branch[ids]
    has = hb >= 0
    engaged = has & (people.commitment[ids] > p.engaged_level)
    life = life_per_member(effective_life(b, p, policy.fusion_mode), b.members)
    home_life = at_branch(life, hb)
    dual = people.dual_registered[ids] & has
    comm_b = h.community_branch[people.community[ids]]
    comm_life = np.where(dual, at_branch(life, comm_b), 0.0)
    service = at_branch(b.service + b.support, hb)
    service = np.divide(
        service,
        at_branch(b.members, hb),
        out=np.zeros(ids.size),
        where=at_branch(b.members, hb) > 0,
    )
    duplicate = comm_life * (not policy.mutual_recognition)
    load = member_load(home_life, service, engaged, duplicate)
    return dict(
        has=has,
        engaged=engaged,
        dual=dual,
        life=np.minimum(np.maximum(home_life, comm_life) / p.life_hours, 1.0),
        load=load,
        overload=np.maximum(load - p.load_capacity, 0.0),
        serves=dual & engaged & (p.dual_share > 0),
    )


def load(state: State, p: ModelParams, policy: PolicyParams) -> np.ndarray:
    """Per-person load this week (0 for masses and floating members)."""
    ids = state.people.member_ids()
    out = np.zeros(state.people.n)
    out[ids] = MemberWeek(state, p, policy, ids).load
    return out


def step(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    week: int,
    ids: np.ndarray,
) -> Events:
    """Members' own problems arise, are answered or wait; commitment moves.

    Args:
        state: the model state.
        p: model parameters.
        policy: policy levers.
        rng: the dynamics generator.
        week: this week's number.
        ids: the current members (sorted).
    """
    people, tally = state.people, state.tally
    mw = MemberWeek(state, p, policy, ids)
    arises = ~people.need[ids] & (rng.random(ids.size) < p.member_need_rate)
    people.need_since[ids[arises]] = week
    slot = week % PROBLEM_RING
    tally.arisen[slot] = arises.sum()
    tally.answered_fast[slot] = 0
    need = people.need[ids] | arises
    answered = need & mw.has & (rng.random(ids.size) < policy.responsiveness)
    since = people.need_since[ids[answered]]
    fast = since[week - since < ANSWER_WEEKS]
    np.add.at(tally.answered_fast, fast % PROBLEM_RING, 1)
    people.need[ids] = need & ~answered
    weight = np.where(people.out_of_system[ids], p.response_weight_outside, 1.0)
    people.commitment[ids] = update_commitment(
        people.commitment[ids],
        disposition=people.disposition[ids],
        life=mw.life,
        answered=answered,
        waiting=need & ~answered,
        weight=weight,
        serves=mw.serves,
        overload=mw.overload,
        floating=~mw.has,
        p=p,
    )
    people.life_week[ids[mw.life > 0]] = week
    return Events()


def answered_share(state: State, week: int) -> float:
    """Share of members' problems answered within ANSWER_WEEKS, over the last year's cohorts
    whose window has closed (NaN before any)."""
    cohorts = (week - ANSWER_WEEKS - np.arange(52)) % PROBLEM_RING
    arisen = state.tally.arisen[cohorts].sum()
    return float(state.tally.answered_fast[cohorts].sum() / arisen) if arisen else float("nan")
