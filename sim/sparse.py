"""Helpers for the compiled sparse kernels of :mod:`sim.mechanisms`."""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp


def unsigned(index: np.ndarray) -> np.ndarray:
    """The same non-negative indices viewed as unsigned integers (no copy).

    Compiled code indexing with a signed integer must allow for negative (from the end)
    indices, a test and a select per access; with unsigned indices it loads directly. On the
    sparse products of the step that halves the time.
    """
    return index.view(np.dtype(f"u{index.dtype.itemsize}"))


@numba.njit(inline="always")
def _column(indices, a, ae, big):  # pragma: no cover - compiled
    """The column at position ``a`` of a row ending at ``ae``, or ``big`` past its end.

    The load is unconditional (at position 0 past the end; every array holds at least one
    entry) and the choice a select, so the merges below run without unpredictable branches:
    with a dozen ties per row spread over three layers, which row's head is smallest is a
    coin toss, and a mispredicted branch per tie made the merge several times slower.
    """
    v = indices[a if a < ae else 0]
    return v if a < ae else big


@numba.njit(inline="always")
def copy_block(idx, data, lo, hi, to_idx, to_data, at):  # pragma: no cover - compiled
    """Copy entries ``lo:hi`` of (idx, data) to (to_idx, to_data) from position ``at``.

    Element loops over slices (not a slice assignment, which checks for overlap and may copy).
    """
    to_i, to_d = to_idx[at : at + hi - lo], to_data[at : at + hi - lo]
    from_i, from_d = idx[lo:hi], data[lo:hi]
    for t in range(hi - lo):
        to_i[t] = from_i[t]
        to_d[t] = from_d[t]


@numba.njit(cache=True, nogil=True)
def _union_indptr(p1, i1, p2, i2, p3, i3, merge, old_ptr, indptr, big):  # pragma: no cover
    """The row pointer of the union of three sorted patterns, in one pass over the rows.

    A row flagged in ``merge`` holds the number of distinct columns of its three rows (found by
    merging them); any other row as many entries as in ``old_ptr``, the previous sum's row
    pointer (its entries are copied). ``big`` is above every column.
    """
    total = 0
    indptr[0] = 0
    for r in range(merge.size):
        if merge[r]:
            a, b, c = p1[r], p2[r], p3[r]
            ae, be, ce = p1[r + 1], p2[r + 1], p3[r + 1]
            while (a < ae) | (b < be) | (c < ce):
                x, y, z = _column(i1, a, ae, big), _column(i2, b, be, big), _column(i3, c, ce, big)
                col = min(x, min(y, z))
                a += x == col
                b += y == col
                c += z == col
                total += 1
        else:
            total += old_ptr[r + 1] - old_ptr[r]
        indptr[r + 1] = total


@numba.njit(cache=True, nogil=True)
def _union_fill(  # pragma: no cover - compiled
    p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, merge, old, indptr, indices, data, big, zero
):
    """Fill the union pattern: rows flagged in ``merge`` with ``(w1 A1 + w2 A2) + w3 A3``, term
    by term in the data's dtype; each run of other rows with one block copy from ``old``, the
    previous sum's ``(indptr, indices, data)``.

    An absent term counts as ``zero`` (0 in the data's dtype): with positive entries ``t + 0``
    is ``t`` exactly, so the sum is scipy's, bit for bit.
    """
    old_ptr, old_idx, old_data = old
    n = merge.size
    r = 0
    while r < n:
        if not merge[r]:  # a run of unchanged rows: contiguous in both matrices
            first = r
            while r < n and not merge[r]:
                r += 1
            copy_block(old_idx, old_data, old_ptr[first], old_ptr[r], indices, data, indptr[first])
            continue
        _merge_row(r, p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, indptr[r], indices, data,
                   big, zero)  # fmt: skip
        r += 1


@numba.njit(cache=True, nogil=True)
def _union_all(  # pragma: no cover - compiled
    p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, indptr, indices, data, big, zero
):
    """Every row of the union, in one pass: each row written where the last one ended, its end
    recorded in ``indptr`` (``indices`` and ``data`` must hold the layers' entries together)."""
    k = 0
    indptr[0] = 0
    for r in range(indptr.size - 1):
        k = _merge_row(r, p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, k, indices, data,
                       big, zero)  # fmt: skip
        indptr[r + 1] = k


@numba.njit(inline="always")
def _merge_row(  # pragma: no cover - compiled
    r, p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, k, indices, data, big, zero
):
    """Merge row ``r`` of the three layers into ``indices, data`` from position ``k``; return
    the position after it. Values ``(w1 a1 + w2 a2) + w3 a3`` term by term in the data's dtype;
    an absent term counts as ``zero``: with positive entries ``t + 0`` is ``t`` exactly, so the
    sum is scipy's, bit for bit."""
    a, b, c = p1[r], p2[r], p3[r]
    ae, be, ce = p1[r + 1], p2[r + 1], p3[r + 1]
    while (a < ae) | (b < be) | (c < ce):  # one branch (or-ing the tests), not three
        x, y, z = _column(i1, a, ae, big), _column(i2, b, be, big), _column(i3, c, ce, big)
        col = min(x, min(y, z))
        # each term loaded unconditionally, then kept or not (a select, not a branch)
        t1, t2, t3 = (
            w1 * d1[a if a < ae else 0],
            w2 * d2[b if b < be else 0],
            w3 * d3[c if c < ce else 0],
        )
        t1 = t1 if x == col else zero
        t2 = t2 if y == col else zero
        t3 = t3 if z == col else zero
        a += x == col
        b += y == col
        c += z == col
        indices[k] = col
        data[k] = (t1 + t2) + t3
        k += 1
    return k


@numba.njit(cache=True, nogil=True)
def _rows_differ(pa, ia, da, pb, ib, db, differ):  # pragma: no cover - compiled
    """``differ[r] |= row r of A is not row r of B`` (columns or values)."""
    for r in range(pa.size - 1):
        if differ[r]:
            continue
        a, b = pa[r], pb[r]
        if pa[r + 1] - a != pb[r + 1] - b:
            differ[r] = True
            continue
        for t in range(pa[r + 1] - a):
            if ia[a + t] != ib[b + t] or da[a + t] != db[b + t]:
                differ[r] = True
                break


def _parts(layers: list[sp.csr_array], weights: list[float], index_dtype: type) -> list:
    """Each layer's (indptr, indices, data, weight), the indices in one dtype."""
    for a in layers:
        if not a.has_canonical_format:
            raise ValueError("weighted_sum needs canonical layers (sorted, no duplicates)")
    parts = []
    dtype = layers[0].dtype
    for a, w in zip(layers, weights, strict=True):
        indptr = a.indptr.astype(index_dtype, copy=False)
        indices = a.indices.astype(index_dtype, copy=False)
        data = a.data
        if not a.nnz:  # the merges load a row's head unconditionally: give them one entry
            indices, data = np.zeros(1, index_dtype), np.zeros(1, dtype)
        parts.append((indptr, indices, data, dtype.type(w)))
    return parts


def _index_dtype(layers: list[sp.csr_array]) -> type:
    """int32 while every index and count fits, else int64 (one dtype: one compiled signature)."""
    n = layers[0].shape[0]
    wide = max(sum(a.nnz for a in layers), n) >= np.iinfo(np.int32).max
    return np.int64 if wide else np.int32


def weighted_sum(
    layers: list[sp.csr_array],
    weights: list[float],
    previous: tuple[sp.csr_array, list[sp.csr_array]] | None = None,
    rows: np.ndarray | None = None,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> sp.csr_array:
    """``w1 A1 + w2 A2 + w3 A3`` of three canonical CSR matrices with positive entries.

    The same matrix, bit for bit, as scipy's ``w1 * A1 + w2 * A2 + w3 * A3`` (each term
    scaled in the data's dtype, then summed pairwise from the left), in one compiled merge of
    the rows' sorted columns instead of two general sparse additions.

    Args:
        layers: three matrices of one shape and dtype, canonical (sorted, no duplicates).
        weights: their weights (positive: no sum cancels to an explicit zero).
        previous: ``(sum, old_layers)``: the result of an earlier call with the same weights
            and the layers then. Rows where no layer changed are copied from it, and only the
            changed rows are merged (when a few people move, a few rows change).
        rows: with ``previous``, the rows that may differ (sorted, distinct); when None they
            are found by comparing the old and new layers row by row.
        out: (indices, data) buffers to write into when they are large enough (the result's
            arrays are then views of them). Memory this process already uses is much cheaper
            to write than fresh memory, whose every page the system must first map.

    Returns:
        The weighted sum (CSR, sorted indices; int32 indices when they fit).
    """
    if len(layers) != 3 or len(weights) != 3:
        raise ValueError("weighted_sum takes exactly three layers and three weights")
    n = layers[0].shape[0]
    index_dtype = _index_dtype(layers)
    (p1, i1, d1, w1), (p2, i2, d2, w2), (p3, i3, d3, w3) = _parts(layers, weights, index_dtype)
    big = np.iinfo(index_dtype).max  # above every column
    zero = layers[0].dtype.type(0)
    indptr = np.empty(n + 1, index_dtype)
    if previous is None:  # one pass into room for all the layers' entries
        room = sum(a.nnz for a in layers)
        indices, data = _buffers(out, room, index_dtype, layers[0].dtype)
        _union_all(p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, indptr, indices, data,
                   big, zero)  # fmt: skip
        nnz = int(indptr[-1])
        return _csr(data[:nnz], indices[:nnz], indptr, layers[0].shape)
    # rows where a layer changed are merged, the others copied from the previous sum
    old_sum, old_layers = previous
    merge = np.zeros(n, bool)
    if rows is not None:
        merge[rows] = True
    else:
        for before, now in zip(old_layers, layers, strict=True):
            if before is not now:
                _rows_differ(before.indptr, before.indices, before.data, now.indptr,
                             now.indices, now.data, merge)  # fmt: skip
    old = (
        old_sum.indptr.astype(index_dtype, copy=False),
        old_sum.indices.astype(index_dtype, copy=False),
        old_sum.data,
    )
    _union_indptr(p1, i1, p2, i2, p3, i3, merge, old[0], indptr, big)
    nnz = int(indptr[-1])
    indices, data = _buffers(out, nnz, index_dtype, layers[0].dtype)
    if nnz:
        _union_fill(p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, merge, old, indptr, indices,
                    data, big, zero)  # fmt: skip
    return _csr(data, indices, indptr, layers[0].shape)


def _csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape) -> sp.csr_array:
    """A CSR matrix of arrays known to be canonical (sorted, no duplicates)."""
    out = sp.csr_array((data, indices, indptr), shape=shape)
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def _buffers(
    out: tuple[np.ndarray, np.ndarray] | None, nnz: int, index_dtype: type, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Views of length ``nnz`` of ``out`` when it fits, else of new buffers with 5% to spare."""
    if out is not None:
        indices, data = out
        if (
            indices.size >= nnz
            and data.size >= nnz
            and indices.dtype == index_dtype
            and data.dtype == dtype
        ):
            return indices[:nnz], data[:nnz]
    room = nnz + nnz // 20 + 1024
    return np.empty(room, index_dtype)[:nnz], np.empty(room, dtype)[:nnz]


def buffers_of(a: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """The whole buffers behind a matrix's indices and data (to hand to a later ``out``)."""
    return (
        a.indices if a.indices.base is None else a.indices.base,
        a.data if a.data.base is None else a.data.base,
    )
