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

import numba
import numpy as np
import scipy.sparse as sp

from sim.params import ModelParams, PolicyParams
from sim.sparse import unsigned
from sim.state import Events, State

#: Above this many bytes of identification (1,000,000 people in float32: 4 MB) the week's kernel
#: reads the ties in two passes, over the columns of each half of the people
#: (:func:`_column_blocks`): each pass reads its neighbours' values from half of ``x``. Measured on
#: the benchmark machine with the same results, the kernel took about 20% less time at 1,000,000
#: and at 5,000,000 people; four or ten blocks were no faster than one at 5,000,000 (each pass
#: also reads and writes every row's partial sums), so there are never more than two.
BLOCK_BYTES = 2 * 1024 * 1024


def column_blocks_for(n: int, itemsize: int) -> int:
    """How many column blocks the week's kernel reads for ``n`` people of ``itemsize`` bytes.

    One while ``x`` fits in :data:`BLOCK_BYTES` (100,000 people: 400 KB), two beyond.
    """
    return 1 if n * itemsize <= BLOCK_BYTES else 2


@numba.njit(inline="always")
def _add_ties(indices, data, x, xi, eps, lo, hi, num, den):  # pragma: no cover - compiled
    """``num += w x_j`` and ``den += w`` over the ties ``lo:hi`` whose end is within ``eps``."""
    for jj in range(lo, hi):
        xj = x[indices[jj]]
        if abs(xi - xj) < eps:
            w = data[jj]
            num += w * xj
            den += w
    return num, den


@numba.njit(inline="always")
def _row_mean(indptr, indices, data, x, eps, i):  # pragma: no cover - compiled
    """Weighted mean of person ``i``'s neighbours within ``eps`` of x_i (x_i if there is none).

    The sums run in the tie order and the dtype of ``x``, exactly as ``scipy``'s
    ``csr_matvec`` runs them.
    """
    xi = x[i]
    zero = xi - xi  # a zero of x's dtype
    num, den = _add_ties(indices, data, x, xi, eps, indptr[i], indptr[i + 1], zero, zero)
    return num / den if den > 0 else xi


@numba.njit(cache=True, nogil=True)
def _column_blocks(indptr, indices, data, limits):  # pragma: no cover - compiled
    """The ties regrouped by block of columns, each block a CSR of its own, in one array.

    Block ``b`` holds the ties whose column is below ``limits[b]`` and not below
    ``limits[b - 1]``, row after row, in the rows' order; its row ``i`` is
    ``ptr[b, i]:ptr[b, i + 1]``. The columns of each row must be sorted: a row's ties in block
    ``b`` then follow its ties in block ``b - 1``, so adding the blocks in turn adds every row's
    ties in their original order.

    Returns:
        ``(ptr, indices, data)``: ``ptr`` is (blocks x n + 1), of ``indptr``'s dtype.
    """
    n = indptr.size - 1
    blocks = limits.size
    ends = np.empty((blocks, n), np.int64)  # where each row's ties in block b end
    for i in range(n):  # sorted columns: a walk along the row
        jj = np.int64(indptr[i])
        end = np.int64(indptr[i + 1])
        for b in range(blocks - 1):
            while jj < end and indices[jj] < limits[b]:
                jj += 1
            ends[b, i] = jj
        ends[blocks - 1, i] = end
    ptr = np.empty((blocks, n + 1), indptr.dtype)
    new_indices = np.empty_like(indices)
    new_data = np.empty_like(data)
    q = np.int64(indptr[0])
    for b in range(blocks):  # block after block, row after row: the writes run in order
        ptr[b, 0] = q
        for i in range(n):
            for jj in range(np.int64(indptr[i]) if b == 0 else ends[b - 1, i], ends[b, i]):
                new_indices[q] = indices[jj]
                new_data[q] = data[jj]
                q += 1
            ptr[b, i + 1] = q
    return ptr, new_indices, new_data


@numba.njit(cache=True, nogil=True)
def _bounded_mean(indptr, indices, data, x, eps, out):  # pragma: no cover - compiled
    """Row-wise weighted mean of the neighbours within ``eps``; a row with none keeps x_i.

    One pass over the ties instead of the eight array passes the same sums take in numpy
    (gather, repeat, subtract, abs, compare, mask, two sparse products); bit-identical to
    :meth:`BoundedConfidenceOperator.apply_reference`.
    """
    for i in range(x.shape[0]):
        out[i] = _row_mean(indptr, indices, data, x, eps, i)
    return out


@numba.njit(cache=True, nogil=True)
def _enculturate(  # pragma: no cover - compiled
    ptr, indices, data, x, eps, x0, lam, keep0, pull, new_groups, met, view, acc, out
):
    """A week of enculturation for float32 views (reference: :func:`step_reference`).

    Per person: the bounded-confidence mean of the neighbours (as :func:`_bounded_mean`), the
    Friedkin-Johnsen mix ``lam * mean + keep0 * x0`` in float32, then the pull toward the
    members met (``pull[0]`` for everyone met, ``pull[1]`` for the new groups) in float64,
    stored as float32: the operations, order and dtypes of the numpy step.

    The ties come in column blocks (:func:`_column_blocks`; one block: the CSR itself, ``ptr``
    its ``indptr[None]``). A pass per block adds each row's ties in the block to the row's sums,
    kept between passes in ``acc`` (n x 2, x's dtype); the last pass finishes each person.
    """
    n = x.shape[0]
    blocks = ptr.shape[0]
    for b in range(blocks - 1):
        row = ptr[b]
        for i in range(n):
            xi = x[i]
            if b == 0:
                num = xi - xi  # a zero of x's dtype
                den = xi - xi
            else:
                num = acc[i, 0]
                den = acc[i, 1]
            num, den = _add_ties(indices, data, x, xi, eps, row[i], row[i + 1], num, den)
            acc[i, 0] = num
            acc[i, 1] = den
    row = ptr[blocks - 1]
    for i in range(n):
        xi = x[i]
        if blocks == 1:
            num = xi - xi
            den = xi - xi
        else:
            num = acc[i, 0]
            den = acc[i, 1]
        num, den = _add_ties(indices, data, x, xi, eps, row[i], row[i + 1], num, den)
        mean = num / den if den > 0 else xi
        fj = lam * mean + keep0 * x0[i]
        rate = (pull[1] if new_groups[i] else pull[0]) * (1.0 if met[i] else 0.0)
        y = np.float64(fj)
        out[i] = np.float32(y + rate * (view[i] - y))
    return out


class BoundedConfidenceOperator:
    """Applies W_eps to a vector, reusing the sparsity pattern of a fixed adjacency.

    Args:
        adjacency: non-negative weighted adjacency (CSR, n x n).
        degree: its row sums, when the caller has them (as ``adjacency.sum(axis=1)``).
        blocks: how many blocks of columns the week's kernel reads the ties in (None: by the
            size of ``x``, :func:`column_blocks_for`; the results are the same for any number).
    """

    def __init__(
        self,
        adjacency: sp.csr_array,
        degree: np.ndarray | None = None,
        blocks: int | None = None,
    ):
        if blocks is not None and blocks < 1:
            raise ValueError(f"blocks: {blocks!r}; allowed: an integer of at least 1, or None")
        a = adjacency if isinstance(adjacency, sp.csr_array) else sp.csr_array(adjacency)
        a.sort_indices()  # a flag check when the indices are known to be sorted
        self.adjacency = a
        self.row_degree = np.diff(a.indptr)
        #: weighted degree (row sums); ``degree`` when given (known to equal them)
        self.degree = np.asarray(a.sum(axis=1)).ravel() if degree is None else degree
        self._data: dict[np.dtype, np.ndarray] = {}
        self.blocks = blocks
        self._blocks: dict[np.dtype, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def column_blocks(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ties by blocks of columns, for the week's kernel on an x of ``dtype`` (cached).

        Returns:
            ``(ptr, indices, data)`` as :func:`_column_blocks` returns them (unsigned indices,
            weights in ``dtype``). With one block they are the adjacency's own arrays; two are a
            regrouped copy of the ties, made in the first week after the ties changed (0.1-0.2 s
            at 1,000,000 people; by default the ties change every 13 weeks).
        """
        dtype = np.dtype(dtype)
        if dtype not in self._blocks:
            a = self.adjacency
            indptr, indices = unsigned(a.indptr), unsigned(a.indices)
            n = a.shape[0]
            blocks = self.blocks if self.blocks else column_blocks_for(n, dtype.itemsize)
            if blocks == 1:
                self._blocks[dtype] = (indptr[None, :], indices, self._data_as(dtype))
            else:
                width = -(-n // blocks)
                limits = np.minimum(np.arange(1, blocks + 1) * width, n).astype(indices.dtype)
                self._blocks[dtype] = _column_blocks(indptr, indices, self._data_as(dtype), limits)
        return self._blocks[dtype]

    def _data_as(self, dtype: np.dtype) -> np.ndarray:
        """The tie weights in ``dtype`` (cached: the kernel sums in the dtype of x)."""
        if dtype not in self._data:
            self._data[dtype] = self.adjacency.data.astype(dtype, copy=False)
        return self._data[dtype]

    def apply(self, x: np.ndarray, eps: float) -> np.ndarray:
        """W_eps x, where rows without any tie within ``eps`` return their own value."""
        if eps >= 1.0:
            num = self.adjacency @ x
            out = x.copy()
            np.divide(num, self.degree, out=out, where=self.degree > 0)
            return out
        a = self.adjacency
        out = np.empty_like(x)
        # eps in x's dtype: numpy compares a float32 gap with a Python float in float32
        eps_x = x.dtype.type(eps)
        return _bounded_mean(
            unsigned(a.indptr), unsigned(a.indices), self._data_as(x.dtype), x, eps_x, out
        )

    def apply_reference(self, x: np.ndarray, eps: float) -> np.ndarray:
        """:meth:`apply` in plain numpy and scipy (the kernel's independent check, slower)."""
        a = self.adjacency
        near = x[a.indices]
        keep = np.abs(np.repeat(x, self.row_degree) - near) < eps
        masked = sp.csr_array((self._data_as(x.dtype) * keep, a.indices, a.indptr), a.shape)
        num = masked @ x
        den = masked @ np.ones_like(x)
        out = x.copy()
        np.divide(num, den, out=out, where=den > 0)
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
    activities suited to them (``policy.new_strata_outreach``, paper 4.1). The two pulls add
    up to at most 1 a week (all the way to the members' view, never past it).
    """
    people = state.people
    met = people.met & ~people.member
    rate = p.open_pull * policy.lever("open_activities")
    targeted = p.strata_pull * policy.lever("new_strata_outreach")
    x = people.identification
    if p.confidence < 1.0 and x.dtype == np.float32 and people.anchor.dtype == np.float32:
        ptr, indices, data = influence.column_blocks(x.dtype)
        people.identification = _enculturate(
            ptr,
            indices,
            data,
            x,
            np.float32(p.confidence),
            people.anchor,
            np.float32(p.susceptibility),
            np.float32(1.0 - p.susceptibility),
            np.minimum([rate, rate + targeted], 1.0),
            people.new_groups(),
            met,
            people.met_view,
            np.empty((x.size if ptr.shape[0] > 1 else 0, 2), x.dtype),  # sums between passes
            np.empty_like(x),
        )
    else:
        people.identification = step_reference(state, p, policy, influence)
    return Events()


def step_reference(
    state: State, p: ModelParams, policy: PolicyParams, influence: BoundedConfidenceOperator
) -> np.ndarray:
    """The new identification, by numpy and scipy passes (:func:`_enculturate`'s check)."""
    people = state.people
    x = friedkin_johnsen_step(
        influence, people.identification, people.anchor, p.susceptibility, p.confidence
    )
    met = people.met & ~people.member
    rate = p.open_pull * policy.lever("open_activities")
    targeted = p.strata_pull * policy.lever("new_strata_outreach")
    pull = np.where(people.new_groups(), min(rate + targeted, 1.0), min(rate, 1.0)) * met
    return open_activity_pull(x, people.met_view, pull).astype(np.float32)
