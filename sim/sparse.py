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


@numba.njit(cache=True, nogil=True)
def _union_counts(p1, i1, p2, i2, p3, i3, n):  # pragma: no cover - compiled
    """Per row, the number of distinct columns in three sorted CSR patterns."""
    counts = np.zeros(n + 1, np.int64)
    for r in range(n):
        a, b, c = p1[r], p2[r], p3[r]
        ae, be, ce = p1[r + 1], p2[r + 1], p3[r + 1]
        k = 0
        while a < ae or b < be or c < ce:
            col = -1
            if a < ae:
                col = i1[a]
            if b < be and (col < 0 or i2[b] < col):
                col = i2[b]
            if c < ce and (col < 0 or i3[c] < col):
                col = i3[c]
            if a < ae and i1[a] == col:
                a += 1
            if b < be and i2[b] == col:
                b += 1
            if c < ce and i3[c] == col:
                c += 1
            k += 1
        counts[r + 1] = k
    return counts


@numba.njit(cache=True, nogil=True)
def _union_fill(p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, indptr, indices, data):
    """Fill the union pattern with ``(w1 A1 + w2 A2) + w3 A3``, term by term (compiled)."""
    for r in range(indptr.size - 1):
        a, b, c = p1[r], p2[r], p3[r]
        ae, be, ce = p1[r + 1], p2[r + 1], p3[r + 1]
        k = indptr[r]
        while a < ae or b < be or c < ce:
            col = -1
            if a < ae:
                col = i1[a]
            if b < be and (col < 0 or i2[b] < col):
                col = i2[b]
            if c < ce and (col < 0 or i3[c] < col):
                col = i3[c]
            v = w1 * d1[0]  # a zero of the data's dtype is set below; any value will do here
            has = False
            if a < ae and i1[a] == col:
                v = w1 * d1[a]
                has = True
                a += 1
            if b < be and i2[b] == col:
                v = v + w2 * d2[b] if has else w2 * d2[b]
                has = True
                b += 1
            if c < ce and i3[c] == col:
                v = v + w3 * d3[c] if has else w3 * d3[c]
                c += 1
            indices[k] = col
            data[k] = v
            k += 1


def weighted_sum(layers: list[sp.csr_array], weights: list[float]) -> sp.csr_array:
    """``w1 A1 + w2 A2 + w3 A3`` of three canonical CSR matrices with positive entries.

    The same matrix, bit for bit, as scipy's ``w1 * A1 + w2 * A2 + w3 * A3`` (each term
    scaled in the data's dtype, then summed pairwise from the left), in one compiled merge of
    the rows' sorted columns instead of two general sparse additions: about ten times faster
    on a million people's layers.

    Args:
        layers: three matrices of one shape and dtype, canonical (sorted, no duplicates).
        weights: their weights (positive: no sum cancels to an explicit zero).

    Returns:
        The weighted sum (CSR, sorted indices; int32 indices when they fit).
    """
    if len(layers) != 3 or len(weights) != 3:
        raise ValueError("weighted_sum takes exactly three layers and three weights")
    dtype = layers[0].dtype
    n = layers[0].shape[0]
    for a in layers:
        if not a.has_canonical_format:
            raise ValueError("weighted_sum needs canonical layers (sorted, no duplicates)")
    # one index dtype for all three (a layer rebuilt by scipy may come back with int64
    # indices): one compiled signature, and int32 streams while they fit
    wide = max(max(a.nnz for a in layers), n) >= np.iinfo(np.int32).max
    index_dtype = np.int64 if wide else np.int32
    parts = []
    for a, w in zip(layers, weights, strict=True):
        indptr = a.indptr.astype(index_dtype, copy=False)
        indices = a.indices.astype(index_dtype, copy=False)
        parts += [indptr, indices, a.data, dtype.type(w)]
    (p1, i1, d1, w1), (p2, i2, d2, w2), (p3, i3, d3, w3) = (
        parts[0:4],
        parts[4:8],
        parts[8:12],
    )
    counts = _union_counts(p1, i1, p2, i2, p3, i3, n)
    indptr = np.cumsum(counts)
    nnz = int(indptr[-1])
    index_dtype = np.int32 if max(nnz, n) < np.iinfo(np.int32).max else np.int64
    indices = np.empty(nnz, index_dtype)
    data = np.empty(nnz, dtype)
    indptr = indptr.astype(index_dtype)
    if nnz:
        _union_fill(p1, i1, d1, w1, p2, i2, d2, w2, p3, i3, d3, w3, indptr, indices, data)
    out = sp.csr_array((data, indices, indptr), shape=layers[0].shape)
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out
