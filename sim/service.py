"""Service and image: members reach people with needs on the layers open to them (DESIGN §5.4).

Paper 1.3 calls the grassroots branch the party's "image output terminal" and 4.3 asks for care
and service for the masses. Each engaged member spends the service hours their branch has left
after paperwork on the layer where the branch lives (work for unit and joint branches,
residence for community branches, online for platform and online branches), and a
dual-registered member adds community hours on the residence layer. A member's hours are spread
evenly over its ties on that layer, so the pressure on a person ``j`` is

    s_j = sum over layers l, members i tied to j on l of  h_il / deg_l(i).

A need of ``j`` is resolved this week with probability ``1 - exp(-k s_j)``; a resolved need
raises identification by ``a_s (1 - x_j)``. Contacts from a formalistic branch (paperwork share
above ``formalism_level``) resolve nothing and lower identification by ``a_f x_j``. Private
needs (family, work) are answered only as far as care service (openness) reaches them.

Pressure is computed from the members' rows of each layer (transposed), so the cost scales with
the members' ties, not with the whole network.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

LAYERS = ("work", "residence", "online")


class MemberReach:
    """Delivers per-member quantities to everyone tied to the member, layer by layer.

    Args:
        layers: the network layers by name.
        member_ids: sorted ids of the current members (refresh when membership changes).
    """

    def __init__(self, layers: dict[str, sp.csr_array], member_ids: np.ndarray):
        self.layers = layers
        self.degree = {k: np.diff(a.indptr).astype(float) for k, a in layers.items()}
        self.refresh(member_ids)

    def refresh(self, member_ids: np.ndarray) -> None:
        """Cache the members' rows of every layer, transposed (N x members, CSC)."""
        self.ids = np.asarray(member_ids)
        self.out = {k: a[self.ids].T for k, a in self.layers.items()}

    def deliver(self, per_layer: dict[str, np.ndarray]) -> np.ndarray:
        """Sum over layers of A_l[:, members] @ (V_l / deg_l(member)).

        Args:
            per_layer: for each layer, an (members x k) array of what each member sends.

        Returns:
            An (N x k) array of what each person receives.
        """
        total = None
        for name, values in per_layer.items():
            deg = self.degree[name][self.ids]
            spread = np.divide(
                values, deg[:, None], out=np.zeros_like(values), where=deg[:, None] > 0
            )
            got = self.out[name] @ spread
            total = got if total is None else total + got
        return total


def resolve_needs(
    need: np.ndarray,
    private: np.ndarray,
    pressure: np.ndarray,
    rate: float,
    care: float,
    u: np.ndarray,
) -> np.ndarray:
    """Which needs are resolved: hazard ``1 - exp(-rate * pressure)``, private ones x care."""
    p = -np.expm1(-rate * pressure)
    p = np.where(private, p * care, p)
    return need & (u < p)


def image_update(
    x: np.ndarray, served: np.ndarray, formal_contact: np.ndarray, gain: float, loss: float
) -> np.ndarray:
    """Identification after resolved needs (up) and formalistic contacts (down)."""
    up = (gain * served).astype(x.dtype)
    down = (loss * formal_contact).astype(x.dtype)
    x = x + up * (1 - x)
    return x - down * x
