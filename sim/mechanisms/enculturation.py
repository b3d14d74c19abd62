"""Enculturation: identification spreads over the multiplex network (DESIGN §5.5, paper 4.3).

The kernel is Friedkin and Johnsen's (1990) influence model with stubbornness,
``x(t+1) = L W x(t) + (I - L) x(0)``, where ``W`` is the row-normalised adjacency and ``L`` the
susceptibility, combined with Deffuant et al.'s (2000) bounded confidence: a tie whose two ends
differ by ``eps`` or more carries no influence this week. With ``eps >= 1`` no tie is cut and
the kernel is exactly Friedkin-Johnsen, whose fixed point is ``(I - L W)^-1 (I - L) x(0)``
(checked in tests/test_docking.py). A row with no tie left keeps its own value (W_ii = 1).

Open branch activities (openness) add a pull toward the members a person meets, and activities
suited to the new strata and platform workers add more for them (paper 4.1 and 4.3).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.params import ModelParams, PolicyParams
from sim.state import Events, State


class BoundedConfidenceOperator:
    """Applies W_eps to a vector, reusing the sparsity pattern of a fixed adjacency.

    Args:
        adjacency: non-negative weighted adjacency (CSR, n x n).
    """

    def __init__(self, adjacency: sp.csr_array):
        a = sp.csr_array(adjacency)
        a.sort_indices()
        self.adjacency = a
        self.row_degree = np.diff(a.indptr)
        # numpy gathers with native-width indices several times faster than with int32 ones
        self._cols = a.indices.astype(np.intp)
        self.degree = np.asarray(a.sum(axis=1)).ravel()
        self._buffers: dict[np.dtype, tuple] = {}

    def _buffers_for(self, dtype: np.dtype) -> tuple:
        """Per-dtype scratch arrays, so a weekly call allocates almost nothing."""
        if dtype not in self._buffers:
            a = self.adjacency
            data = a.data.astype(dtype)
            masked = sp.csr_array((data.copy(), a.indices, a.indptr), shape=a.shape)
            self._buffers[dtype] = (
                data,
                masked,
                np.empty(a.nnz, dtype),
                np.empty(a.nnz, bool),
                np.ones(a.shape[0], dtype),
            )
        return self._buffers[dtype]

    def apply(self, x: np.ndarray, eps: float) -> np.ndarray:
        """W_eps x, where rows without any tie within ``eps`` return their own value."""
        if eps >= 1.0:
            num = self.adjacency @ x
            den = self.degree
        else:
            data, masked, near, keep, ones = self._buffers_for(x.dtype)
            np.take(x, self._cols, out=near, mode="clip")  # "raise" would buffer
            gap = np.repeat(x, self.row_degree)
            np.subtract(gap, near, out=gap)
            np.abs(gap, out=gap)
            np.less(gap, eps, out=keep)
            np.multiply(data, keep, out=masked.data)
            num = masked @ x
            den = masked @ ones
        out = x.copy()
        has = den > 0
        np.divide(num, den, out=out, where=has)
        return out


def friedkin_johnsen_step(
    op: BoundedConfidenceOperator,
    x: np.ndarray,
    x0: np.ndarray,
    susceptibility: np.ndarray | float,
    eps: float = 1.0,
) -> np.ndarray:
    """One week of influence: ``L W_eps x + (I - L) x0``."""
    lam = susceptibility
    return lam * op.apply(x, eps) + (1.0 - lam) * x0


def friedkin_johnsen_fixed_point(
    adjacency: sp.csr_array, x0: np.ndarray, susceptibility: np.ndarray | float
) -> np.ndarray:
    """Closed-form steady state ``(I - L W)^-1 (I - L) x0`` (for docking, small graphs)."""
    from scipy.sparse.linalg import spsolve

    n = adjacency.shape[0]
    deg = np.asarray(adjacency.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros(n), where=deg > 0)
    w = sp.diags_array(inv) @ adjacency
    w = w + sp.diags_array((deg == 0).astype(float))  # isolated rows keep their value
    lam = np.broadcast_to(np.asarray(susceptibility, float), (n,))
    system = sp.identity(n, format="csc") - sp.diags_array(lam) @ w
    return spsolve(sp.csc_matrix(system), (1.0 - lam) * x0)


def open_activity_pull(x: np.ndarray, target: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Move people toward the mean view of the members they meet, each at its ``rate``."""
    return x + rate * (target - x)


def step(
    state: State, p: ModelParams, policy: PolicyParams, influence: BoundedConfidenceOperator
) -> Events:
    """Friedkin-Johnsen influence with bounded confidence, then open and targeted activities.

    Everyone's identification moves (members' too; their commitment is §5.6). Masses who met
    members this week are pulled toward the members' identification by open activities
    (``policy.open_activities``), and the new strata and platform workers among them also by
    activities suited to them (``policy.new_strata_outreach``, paper 4.1).
    """
    people = state.people
    x = friedkin_johnsen_step(
        influence, people.identification, people.anchor, p.susceptibility, p.confidence
    )
    met = people.met & ~people.member
    rate = p.open_pull * policy.lever("open_activities")
    targeted = p.strata_pull * policy.lever("new_strata_outreach")
    pull = np.where(people.new_groups(), rate + targeted, rate) * met
    people.identification = open_activity_pull(x, people.met_view, pull).astype(np.float32)
    return Events()
