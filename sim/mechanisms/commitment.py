"""Member commitment (DESIGN §5.6; paper 1.3, 2.2, 2.3, 3.1).

Commitment ``c`` of a member rises with meaningful organisational life (its effort times a
quality that falls with the branch's paperwork share) and with answers to the member's own
problems through the party channel (organic integration, paper 2.3: members outside the state
system weigh an answer more); it falls with duplicated activities (dual registration without
mutual recognition, paper 2.2) and with isolation (floating, no organisational life):

    c += a1 * life_b * (1 - burden_b) * (1 - c) + a2 * v_i * answered_i * (1 - c)
         - a0 * c - a3 * duplicated_i - a4 * floating_i * c

then clipped to [0, 1]. ``life_b`` is the organisational-life hours per member relative to a
full programme, capped at 1. The fading term ``a0 * c`` (an addition to DESIGN Appendix A)
gives commitment an interior equilibrium: without renewal through organisational life or
answers, commitment decays.

The member's load (paper 2.2, 双报到 and 双边互认) is made explicit in hours a week::

    load_i = life_i + service_i * engaged_i
             + dual_i * (dual_hours * engaged_i + (1 - mutual_recognition) * life_i)

``life_i`` and ``service_i`` are the home branch's organisational-life and service hours per
member this week, ``dual_hours`` the community service of a dual-registered member. Without
mutual recognition a dual-registered member attends the same programme of organisational life a
second time, in the community; with it, once. The commitment update charges the duplication as
the loss ``a3``; :func:`member_load` reports it (outcome ``member_load``).
"""

from __future__ import annotations

import numpy as np

from sim.params import ModelParams, PolicyParams
from sim.state import Events, State, at_branch


def life_quality(
    life_hours: np.ndarray, members: np.ndarray, burden: np.ndarray, full_hours: float
) -> np.ndarray:
    """Per branch: effort of organisational life (capped at a full programme) x its quality."""
    per_member = np.divide(
        life_hours, members * full_hours, out=np.zeros_like(life_hours), where=members > 0
    )
    return np.minimum(per_member, 1.0) * (1.0 - burden)


def update_commitment(
    c: np.ndarray,
    life: np.ndarray,
    answered: np.ndarray,
    answer_weight: np.ndarray,
    duplicated: np.ndarray,
    floating: np.ndarray,
    a1: float,
    a2: float,
    a3: float,
    a4: float,
    a0: float = 0.0,
) -> np.ndarray:
    """One week of commitment change for the members given (all arrays aligned)."""
    gain = a1 * life * (1.0 - c) + a2 * answer_weight * answered * (1.0 - c)
    loss = a0 * c + a3 * duplicated + a4 * floating * c
    return np.clip(c + gain - loss, 0.0, 1.0)


def member_load(
    life_per_member: np.ndarray,
    service_per_member: np.ndarray,
    engaged: np.ndarray,
    dual: np.ndarray,
    mutual_recognition: bool,
    dual_hours: float,
) -> np.ndarray:
    """Hours a week each member gives to party work (arrays aligned over members)."""
    duplicated = 0.0 if mutual_recognition else 1.0
    return (
        life_per_member
        + service_per_member * engaged
        + dual * (dual_hours * engaged + duplicated * life_per_member)
    )


def load(state: State, p: ModelParams, policy: PolicyParams) -> np.ndarray:
    """Per-person load this week (0 for masses and floating members)."""
    people, b = state.people, state.branches
    ids = people.member_ids()
    hb = people.home_branch[ids]
    has = hb >= 0
    size = at_branch(b.members, hb)
    per = np.divide(1.0, size, out=np.zeros(ids.size), where=has & (size > 0))
    engaged = has & (people.x[ids] > p.engaged_level)
    out = np.zeros(people.n)
    out[ids] = member_load(
        at_branch(b.life, hb) * per,
        at_branch(b.service, hb) * per,
        engaged,
        people.dual_registered[ids] & has,
        policy.mutual_recognition,
        p.dual_hours,
    )
    return out


def step(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    ids: np.ndarray,
) -> Events:
    """Organisational life, answers to own problems, duplication, isolation.

    Args:
        state: the model state.
        p: model parameters.
        policy: policy levers.
        rng: the dynamics generator.
        ids: the current members (sorted).
    """
    people, b = state.people, state.branches
    hb = people.home_branch[ids]
    has = hb >= 0
    need = people.need[ids] | (rng.random(ids.size) < p.member_need_rate)
    answered = need & has & (rng.random(ids.size) < policy.responsiveness)
    people.need[ids] = need & ~answered
    life = at_branch(life_quality(b.life, b.members, b.burden, p.life_hours), hb)
    weight = np.where(people.out_of_system[ids], p.response_weight_outside, 1.0)
    duplicated = people.dual_registered[ids] & (not policy.mutual_recognition)
    people.x[ids] = update_commitment(
        people.x[ids],
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
    return Events()
