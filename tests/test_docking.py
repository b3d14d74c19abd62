"""Docking: the enculturation and mobilization kernels reproduce the published models.

* Enculturation (DESIGN §5.5) is Friedkin and Johnsen (1990) with Deffuant et al.'s (2000)
  bounded confidence. With no bound (eps = 1) iterating the kernel must reach the closed-form
  steady state ``(I - L W)^-1 (I - L) x0``; the expected values here are computed with dense
  numpy, independently of ``sim.mechanisms.enculturation``.
* Mobilization (DESIGN §5.10) is Granovetter's (1978) threshold model: on a complete graph of
  100 people with normal thresholds of mean 0.25, final participation jumps from almost nobody
  to almost everybody as the spread passes its critical value (Granovetter reports about 12.2
  people, i.e. sigma ~ 0.12); and the uniform-threshold riot example tips on one person.
* The multiplex OR rule (Brummitt, Lee and Goh 2012): the largest active share over layers
  counts, not the mean or the pooled share.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sim.mechanisms.enculturation import (
    BoundedConfidenceOperator,
    friedkin_johnsen_fixed_point,
    friedkin_johnsen_step,
)
from sim.mechanisms.mobilization import peer_pressure, threshold_cascade

# ---------------------------------------------------------------------- Friedkin-Johnsen


def random_weighted_graph(n: int, p: float, seed: int) -> np.ndarray:
    """Dense symmetric weighted adjacency: Erdos-Renyi ties plus a ring (connected), no loops."""
    rng = np.random.default_rng(seed)
    upper = np.triu((rng.random((n, n)) < p) * rng.uniform(0.2, 3.0, (n, n)), k=1)
    ring = np.zeros((n, n))
    idx = np.arange(n)
    ring[idx, (idx + 1) % n] = rng.uniform(0.2, 3.0, n)
    a = upper + np.triu(ring, k=1) + np.triu(ring.T, k=1)
    a = a + a.T
    np.fill_diagonal(a, 0.0)
    return a


@pytest.fixture(scope="module")
def fj_case() -> dict[str, np.ndarray]:
    n = 60
    a = random_weighted_graph(n, 0.08, seed=1990)
    rng = np.random.default_rng(7)
    return {
        "a": a,
        "x0": rng.random(n),
        "lam": rng.uniform(0.05, 0.9, n),
    }


def dense_fixed_point(a: np.ndarray, x0: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """(I - L W)^-1 (I - L) x0 with W the row-normalised adjacency, all dense numpy."""
    w = a / a.sum(axis=1, keepdims=True)
    n = a.shape[0]
    return np.linalg.solve(np.eye(n) - lam[:, None] * w, (1.0 - lam) * x0)


def test_graph_is_a_valid_docking_case(fj_case):
    a = fj_case["a"]
    assert np.array_equal(a, a.T)
    assert np.all(np.diag(a) == 0)
    assert np.all(a.sum(axis=1) > 0)
    n_components, _ = connected_components(sp.csr_array(a), directed=False)
    assert n_components == 1
    assert np.ptp(fj_case["lam"]) > 0.5  # heterogeneous susceptibility


def test_fixed_point_solves_the_fj_equation(fj_case):
    a, x0, lam = fj_case["a"], fj_case["x0"], fj_case["lam"]
    x_star = friedkin_johnsen_fixed_point(sp.csr_array(a), x0, lam)
    w = a / a.sum(axis=1, keepdims=True)
    residual = x_star - (lam * (w @ x_star) + (1.0 - lam) * x0)
    assert np.max(np.abs(residual)) < 1e-10
    assert np.max(np.abs(x_star - dense_fixed_point(a, x0, lam))) < 1e-10


def test_fixed_point_with_scalar_susceptibility(fj_case):
    a, x0 = fj_case["a"], fj_case["x0"]
    x_star = friedkin_johnsen_fixed_point(sp.csr_array(a), x0, 0.6)
    expected = dense_fixed_point(a, x0, np.full(len(x0), 0.6))
    assert np.max(np.abs(x_star - expected)) < 1e-10


def test_iterated_kernel_converges_to_fixed_point(fj_case):
    a, x0, lam = fj_case["a"], fj_case["x0"], fj_case["lam"]
    op = BoundedConfidenceOperator(sp.csr_array(a))
    expected = dense_fixed_point(a, x0, lam)
    x = x0.copy()
    for _ in range(2000):
        new = friedkin_johnsen_step(op, x, x0, lam, eps=1.0)
        if np.max(np.abs(new - x)) < 1e-15:
            x = new
            break
        x = new
    assert x.dtype == np.float64
    assert np.max(np.abs(x - expected)) < 1e-10
    # and it moved: the steady state is not the starting point
    assert np.max(np.abs(expected - x0)) > 0.05


def test_one_step_matches_dense_formula(fj_case):
    a, x0, lam = fj_case["a"], fj_case["x0"], fj_case["lam"]
    op = BoundedConfidenceOperator(sp.csr_array(a))
    x = np.random.default_rng(3).random(len(x0))
    w = a / a.sum(axis=1, keepdims=True)
    got = friedkin_johnsen_step(op, x, x0, lam, eps=1.0)
    assert np.max(np.abs(got - (lam * (w @ x) + (1.0 - lam) * x0))) < 1e-12


def test_bounded_confidence_cuts_distant_ties_by_hand():
    """Four people; with eps = 0.05 only the ties between close views carry influence.

    Ties (weights): 0-1 (2), 0-2 (1), 0-3 (3), 1-3 (1), 2-3 (5). Views x = (.50, .52, .47, .90).
    Gaps: |0-1| = .02, |0-2| = .03 (kept); every tie to person 3 is >= .38 (cut).
      W_eps x = ((2 * .52 + 1 * .47) / 3, .50, .50, .90)   (person 3 has no tie left: keeps .90)
    With eps = 1 every tie counts:
      W x = ((2*.52 + 1*.47 + 3*.90) / 6, (2*.50 + 1*.90) / 3, (1*.50 + 5*.90) / 6,
             (3*.50 + 1*.52 + 5*.47) / 9)
    """
    a = np.zeros((4, 4))
    for i, j, wgt in [(0, 1, 2.0), (0, 2, 1.0), (0, 3, 3.0), (1, 3, 1.0), (2, 3, 5.0)]:
        a[i, j] = a[j, i] = wgt
    op = BoundedConfidenceOperator(sp.csr_array(a))
    x = np.array([0.50, 0.52, 0.47, 0.90])
    x0 = np.array([0.10, 0.20, 0.30, 0.40])
    lam = np.array([0.5, 0.8, 0.3, 0.6])

    bounded = np.array([(2 * 0.52 + 0.47) / 3, 0.50, 0.50, 0.90])
    np.testing.assert_allclose(op.apply(x, 0.05), bounded, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        friedkin_johnsen_step(op, x, x0, lam, eps=0.05),
        lam * bounded + (1 - lam) * x0,
        rtol=0,
        atol=1e-15,
    )
    full = np.array(
        [
            (2 * 0.52 + 0.47 + 3 * 0.90) / 6,
            (2 * 0.50 + 0.90) / 3,
            (0.50 + 5 * 0.90) / 6,
            (3 * 0.50 + 0.52 + 5 * 0.47) / 9,
        ]
    )
    np.testing.assert_allclose(op.apply(x, 1.0), full, rtol=0, atol=1e-15)


def test_float32_matches_float64(fj_case):
    a, x0, lam = fj_case["a"], fj_case["x0"], fj_case["lam"]
    op = BoundedConfidenceOperator(sp.csr_array(a))
    for eps in (1.0, 0.3):
        x64, x32 = x0.copy(), x0.astype(np.float32)
        x0_32 = x0.astype(np.float32)
        lam32 = lam.astype(np.float32)
        for _ in range(30):
            x64 = friedkin_johnsen_step(op, x64, x0, lam, eps=eps)
            x32 = friedkin_johnsen_step(op, x32, x0_32, lam32, eps=eps)
        assert x32.dtype == np.float32, eps
        assert np.max(np.abs(x32.astype(np.float64) - x64)) < 1e-5, eps
    # the bounded case really cut ties: it differs from the unbounded one
    x_free = x0.copy()
    x_bound = x0.copy()
    for _ in range(30):
        x_free = friedkin_johnsen_step(op, x_free, x0, lam, eps=1.0)
        x_bound = friedkin_johnsen_step(op, x_bound, x0, lam, eps=0.3)
    assert np.max(np.abs(x_free - x_bound)) > 1e-3


# ---------------------------------------------------------------------- Granovetter


def complete_graph(n: int) -> sp.csr_array:
    return sp.csr_array(np.ones((n, n)) - np.eye(n))


def mean_participation(sigma: float, replicates: int, seed: int) -> float:
    n = 100
    layers = [complete_graph(n)]
    rng = np.random.default_rng(seed)
    finals = []
    for _ in range(replicates):
        threshold = rng.normal(0.25, sigma, n)
        active, _ = threshold_cascade(
            layers, np.zeros(n, bool), np.zeros(n), threshold, peer_weight=1.0, max_rounds=200
        )
        finals.append(active.mean())
    return float(np.mean(finals))


@pytest.fixture(scope="module")
def granovetter_curve() -> dict[float, float]:
    sigmas = (0.05, 0.08, 0.10, 0.16, 0.2, 0.3)
    return {s: mean_participation(s, 200, seed=1978 + i) for i, s in enumerate(sigmas)}


def test_granovetter_small_spread_stalls(granovetter_curve):
    for sigma in (0.05, 0.08):
        assert granovetter_curve[sigma] < 0.1, sigma


def test_granovetter_large_spread_tips_everyone(granovetter_curve):
    for sigma in (0.2, 0.3):
        assert granovetter_curve[sigma] > 0.9, sigma


def test_granovetter_jump_lies_between_010_and_016(granovetter_curve):
    assert granovetter_curve[0.10] < 0.5 < granovetter_curve[0.16]


def test_granovetter_riot_uniform_thresholds():
    """Thresholds 0, 1/N, ..., (N-1)/N: the instigator (threshold 0) starts and all follow.

    The kernel's rule is strict (``drive + w * share > threshold``), so the person with threshold
    0 is the one already active when the call starts: Granovetter's instigator.
    """
    n = 100
    threshold = np.arange(n) / n
    active, rounds = threshold_cascade(
        [complete_graph(n)], threshold <= 0, np.zeros(n), threshold, 1.0, 200
    )
    assert active.all()
    assert rounds == n - 1  # one more person each round


def test_granovetter_riot_without_threshold_one_stops_at_instigator():
    n = 100
    # remove the person with threshold 1/N
    threshold = np.delete(np.arange(n) / n, 1)
    m = threshold.size
    active, rounds = threshold_cascade(
        [complete_graph(m)], threshold <= 0, np.zeros(m), threshold, 1.0, 200
    )
    assert active.sum() == 1
    assert rounds == 0
    # replace them by someone with threshold 2/N instead: also only the instigator
    threshold = np.arange(n) / n
    threshold[1] = 2 / n
    active, _ = threshold_cascade(
        [complete_graph(n)], threshold <= 0, np.zeros(n), threshold, 1.0, 200
    )
    assert active.sum() == 1


# ---------------------------------------------------------------------- multiplex OR rule


def test_multiplex_or_rule_uses_largest_layer_share():
    """Person 0: layer A ties 1, 2, 3 (1 active: share 1/3); layer B ties 4, 5, 6 (4, 5 active:
    share 2/3). The OR rule gives 2/3 (the mean or pooled share would give 1/2)."""
    n = 7
    a = np.zeros((n, n))
    b = np.zeros((n, n))
    for j in (1, 2, 3):
        a[0, j] = a[j, 0] = 1
    for j in (4, 5, 6):
        b[0, j] = b[j, 0] = 1
    layers = [sp.csr_array(a), sp.csr_array(b)]
    active = np.zeros(n, bool)
    active[[1, 4, 5]] = True
    pressure = peer_pressure(layers, [a.sum(1), b.sum(1)], active)
    assert pressure[0] == pytest.approx(2 / 3, abs=1e-7)
    # the others' only neighbour (person 0) is inactive
    assert np.all(pressure[1:] == 0)

    high = np.full(n, 10.0)
    for thr, joins in ((0.6, True), (0.7, False)):
        threshold = high.copy()
        threshold[0] = thr
        out, _ = threshold_cascade(layers, active, np.zeros(n), threshold, 1.0, 10)
        assert bool(out[0]) is joins, thr
        assert np.array_equal(out[1:], active[1:])  # nobody else moves; active stay active
