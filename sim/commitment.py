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
"""

from __future__ import annotations

import numpy as np


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
