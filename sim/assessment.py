"""Assessment and burden: how much of a branch's capacity goes to paperwork (DESIGN §5.2).

Paper 1.1-1.2 and 3.1: assessment demands from above crowd out the branch's real work. The
branch meets the demand from its capacity first (compliance); what remains is split among
service, organisational life and business integration. Anchor: Holmstrom and Milgrom (1991),
effort shifts to what is measured.

At present the demand reaching every branch is the base demand ``model.base_demand``; the
hierarchy's multipliers (escalation per layer, departments assessing separately, trace
requirements) are not modelled yet.
"""

from __future__ import annotations

import numpy as np


def branch_capacity(members: np.ndarray, hours_base: float, hours_per_member: float) -> np.ndarray:
    """Weekly hours of each branch: a fixed part plus a part per member."""
    return hours_base + hours_per_member * members


def paperwork_share(capacity: np.ndarray, demand: np.ndarray | float) -> np.ndarray:
    """Burden P_b / cap_b with P_b = min(cap_b, D_b): the share of capacity spent on paperwork."""
    cap = np.asarray(capacity, dtype=float)
    paper = np.minimum(cap, demand)
    return np.divide(paper, cap, out=np.ones_like(cap), where=cap > 0)


def split_free_capacity(
    capacity: np.ndarray, burden: np.ndarray, weights: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hours left after paperwork, split into (service, organisational life, business)."""
    free = capacity * (1.0 - burden)
    return free * weights[0], free * weights[1], free * weights[2]
