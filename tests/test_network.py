"""The fast network primitives give exactly what the plain numpy and scipy calls give.

The world builder replaced ``np.lexsort``, ``np.searchsorted`` and scipy's COO -> CSR
conversion by faster equivalents (``sim.network``); the model's numbers depend on them being
the same permutation, the same indices and the same matrix, so each is compared with the
call it replaces over random inputs, ties and edge values included.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.network import (
    group_order,
    searchsorted_uniform,
    symmetric_adjacency,
    wrap,
)

seeds = st.integers(0, 2**32 - 1)


def _keys(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "uniform":
        return rng.random(n)
    if kind == "uniform-ties":
        return np.round(rng.random(n), 2) * 0.999
    if kind == "gumbel":
        return rng.gumbel(size=n)
    if kind == "gumbel-ties":
        return -np.round(rng.gumbel(size=n), 1)  # -0.0 and 0.0 among them
    keys = rng.random(n)
    special = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}[kind]
    keys[rng.random(n) < 0.2] = special
    return keys


@settings(max_examples=150, deadline=None)
@given(
    seed=seeds,
    n=st.integers(0, 2000),
    groups=st.sampled_from([1, 3, 500, 70_000, 2**40]),
    negative=st.booleans(),
    kind=st.sampled_from(
        ["uniform", "uniform-ties", "gumbel", "gumbel-ties", "inf", "-inf", "nan"]
    ),
)
def test_group_order_is_lexsort(seed, n, groups, negative, kind):
    rng = np.random.default_rng(seed)
    group = rng.integers(-groups if negative else 0, groups, n)
    key = _keys(rng, kind, n)
    np.testing.assert_array_equal(group_order(group, key), np.lexsort((key, group)))
    np.testing.assert_array_equal(
        group_order(group.astype(np.int32) % 1000, key),
        np.lexsort((key, group.astype(np.int32) % 1000)),
    )


@settings(max_examples=100, deadline=None)
@given(
    seed=seeds,
    n=st.integers(1, 5000),
    zeros=st.booleans(),
    repeats=st.booleans(),
    by_sum=st.booleans(),
)
def test_searchsorted_uniform_is_searchsorted(seed, n, zeros, repeats, by_sum):
    rng = np.random.default_rng(seed)
    weight = rng.pareto(1.5, n) + 1.0
    if zeros:
        weight[rng.random(n) < 0.3] = 0.0  # repeated cdf values
    if repeats:
        weight = np.round(weight)
    if weight.sum() == 0:
        weight[-1] = 1.0
    cdf = np.cumsum(weight)
    # divided by the sum (pairwise), the last value may be a rounding above or below 1
    cdf /= weight.sum() if by_sum else cdf[-1]
    g = 1 << max(min(n.bit_length() + 1, 24), 12)  # the buckets of searchsorted_uniform
    u = np.r_[
        rng.random(3000),
        np.arange(g) / g,  # every bucket bound
        cdf[cdf < 1.0],  # every cdf value
        np.nextafter(cdf[cdf < 1.0], 0.0),
        0.0,
        np.nextafter(1.0, 0.0),
    ]
    np.testing.assert_array_equal(searchsorted_uniform(cdf, u), np.searchsorted(cdf, u, "right"))


def _scipy_adjacency(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_array:
    keep = rows != cols
    r = np.concatenate([rows[keep], cols[keep]]).astype(np.int32)
    c = np.concatenate([cols[keep], rows[keep]]).astype(np.int32)
    a = sp.csr_array((np.ones(r.size, np.float32), (r, c)), shape=(n, n))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


@settings(max_examples=100, deadline=None)
@given(seed=seeds, n=st.integers(1, 400), m=st.integers(0, 3000), int32=st.booleans())
def test_symmetric_adjacency_is_scipys(seed, n, m, int32):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, n, (2, m))
    if int32:
        rows, cols = rows.astype(np.int32), cols.astype(np.int32)
    got, expected = symmetric_adjacency(rows, cols, n), _scipy_adjacency(rows, cols, n)
    assert got.shape == expected.shape and got.has_sorted_indices
    for name in ("indptr", "indices", "data"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b)


def test_wrap_is_modulo_on_its_range():
    size = np.repeat(np.arange(1, 60), np.arange(1, 60) * 2)
    position = np.concatenate([np.arange(2 * s) for s in range(1, 60)])
    np.testing.assert_array_equal(wrap(position.copy(), size), position % size)
