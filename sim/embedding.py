"""Localized embedding: the load a member carries (DESIGN §5.6, paper 2.2).

Paper 2.2 asks that members working in units also register in their residential community
(双报到) and that organisational life done on either side be recognised on both (双边互认), "no
need to repeat" the routine meetings and study sessions. This module makes the member's load
explicit, in hours a week:

    load_i = life_i + service_i * engaged_i
             + dual_i * (dual_hours * engaged_i + (1 - mutual_recognition) * life_i)

``life_i`` and ``service_i`` are the home branch's organisational-life and service hours per
member this week (``sim.assessment``), ``dual_hours`` the community service of a
dual-registered member (``model.dual_hours``). Without mutual recognition a dual-registered
member attends the same programme of organisational life a second time, in the community; with
it, once. The commitment mechanism (``sim.commitment``) charges the duplication as the loss
``a3``; this measure reports it.
"""

from __future__ import annotations

import numpy as np

from sim.world import at_branch


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


def model_load(model) -> np.ndarray:
    """Per-person load of a model (0 for masses and floating members)."""
    p, ids = model.params, model.member_ids
    b = model.home_branch[ids]
    has = b >= 0
    size = at_branch(model.branch_members, b)
    per = np.divide(1.0, size, out=np.zeros(ids.size), where=has & (size > 0))
    engaged = has & (model.x[ids] > p.engaged_level)
    load = np.zeros(model.world.people)
    load[ids] = member_load(
        at_branch(model.branch_life, b) * per,
        at_branch(model.branch_service, b) * per,
        engaged,
        model.dual_registered[ids] & has,
        model.policy.mutual_recognition,
        p.dual_hours,
    )
    return load
