"""Docking: the enculturation and mobilization kernels reproduce the published models.

* Enculturation (DESIGN §5.5) is Friedkin and Johnsen (1990) with Deffuant et al.'s (2000)
  bounded confidence. With no bound (eps = 1) iterating the kernel must reach the closed-form
  steady state ``(I - L W)^-1 (I - L) x0``; the expected values here are computed with dense
  numpy, independently of ``sim.mechanisms.enculturation``.
* Mobilization (DESIGN §5.11) is Granovetter's (1978) threshold model: on a complete graph of
  100 people with normal thresholds of mean 0.25, final participation jumps from almost nobody
  to almost everybody as the spread passes its critical value (Granovetter reports about 12.2
  people, i.e. sigma ~ 0.12); and the uniform-threshold riot example tips on one person.
* Watts (2002): on Erdos-Renyi graphs with a uniform fractional threshold, one seed starts a
  global cascade in a clear share of trials for a mean degree inside the cascade window and
  never outside it; the window (``sum_k k (k - 1) rho_k p_k > z``) and the expected share of
  trials (the extended vulnerable cluster) are computed here from Watts's generating
  functions, independently of the kernel.
* The peer term (DESIGN §5.11): by default the active share of ties pooled across layers with
  the layers' weights, checked by hand on a small multiplex and on a model's own network; the
  multiplex OR rule (Brummitt, Lee and Goh 2012) takes the largest share on any one layer that
  has at least ``min_active`` active neighbours.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.sparse.csgraph import connected_components
from scipy.stats import poisson

import sim
from sim.mechanisms.enculturation import (
    BoundedConfidenceOperator,
    friedkin_johnsen_fixed_point,
    friedkin_johnsen_step,
)
from sim.mechanisms.mobilization import Peers, threshold_cascade
from sim.state import LAYERS

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
    peers = Peers.from_layers([complete_graph(n)])
    rng = np.random.default_rng(seed)
    finals = []
    for _ in range(replicates):
        threshold = rng.normal(0.25, sigma, n)
        active, _ = threshold_cascade(
            peers, np.zeros(n, bool), np.zeros(n), threshold, peer_weight=1.0, max_rounds=200
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
        Peers.from_layers([complete_graph(n)]), threshold <= 0, np.zeros(n), threshold, 1.0, 200
    )
    assert active.all()
    assert rounds == n - 1  # one more person each round


def test_granovetter_riot_without_threshold_one_stops_at_instigator():
    n = 100
    # remove the person with threshold 1/N
    threshold = np.delete(np.arange(n) / n, 1)
    m = threshold.size
    active, rounds = threshold_cascade(
        Peers.from_layers([complete_graph(m)]), threshold <= 0, np.zeros(m), threshold, 1.0, 200
    )
    assert active.sum() == 1
    assert rounds == 0
    # replace them by someone with threshold 2/N instead: also only the instigator
    threshold = np.arange(n) / n
    threshold[1] = 2 / n
    active, _ = threshold_cascade(
        Peers.from_layers([complete_graph(n)]), threshold <= 0, np.zeros(n), threshold, 1.0, 200
    )
    assert active.sum() == 1


# ---------------------------------------------------------------------- Watts (2002)

WATTS_PHI = 0.18  # 1/phi = 5.6 is not a whole number, so ">" and ">=" thresholds agree
WATTS_N = 10_000


def poisson_degrees(z: float) -> tuple[np.ndarray, np.ndarray]:
    """Degrees k and their Erdos-Renyi (Poisson) probabilities p_k, tail beyond 1e-15 cut."""
    k = np.arange(int(z + 20 * np.sqrt(z) + 20))
    return k, poisson.pmf(k, z)


def vulnerable(k: np.ndarray, phi: float) -> np.ndarray:
    """rho_k: a node of degree k >= 1 tips on one active neighbour when 1/k > phi."""
    return (k >= 1) & (k < 1 / phi)


def window_excess(z: float, phi: float) -> float:
    """sum_k k (k - 1) rho_k p_k - z: Watts's (2002) cascade window is where it is positive."""
    k, pk = poisson_degrees(z)
    return float(np.sum(k * (k - 1) * vulnerable(k, phi) * pk)) - z


def global_cascade_share(z: float, phi: float) -> float:
    """Chance that one random seed starts a global cascade: the extended vulnerable cluster.

    u is the chance that an edge does not lead into the giant vulnerable cluster:
    ``u = 1 - sum_k (k p_k / z) rho_k (1 - u^(k-1))``; the seed starts a global cascade when any
    of its edges does, with chance ``1 - sum_k p_k u^k``.
    """
    k, pk = poisson_degrees(z)
    edge = k * pk * vulnerable(k, phi) / z
    u = 0.0
    for _ in range(10_000):
        new = 1.0 - float(np.sum(edge * (1.0 - u ** np.maximum(k - 1, 0))))
        if abs(new - u) < 1e-15:
            break
        u = new
    return 1.0 - float(np.sum(pk * u**k))


def erdos_renyi(n: int, z: float, rng: np.random.Generator) -> sp.csr_array:
    """Binary symmetric G(n, m) graph with Poisson(z n / 2) edge draws, no self-loops."""
    m = rng.poisson(z * n / 2)
    rows, cols = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = rows != cols
    a = sp.csr_array((np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])), shape=(n, n))
    a = sp.csr_array(a + a.T)
    a.data[:] = 1.0  # a pair drawn twice is one tie
    return a


def cascade_sizes(z: float, graphs: int, seeds: int, rng_seed: int) -> np.ndarray:
    """Final active share after one random seed, ``seeds`` seeds on each of ``graphs`` graphs."""
    rng = np.random.default_rng(rng_seed)
    n = WATTS_N
    threshold = np.full(n, WATTS_PHI)
    sizes = []
    for _ in range(graphs):
        peers = Peers.from_layers([erdos_renyi(n, z, rng)])
        for seed in rng.integers(0, n, seeds):
            start = np.zeros(n, bool)
            start[seed] = True
            active, rounds = threshold_cascade(peers, start, np.zeros(n), threshold, 1.0, n)
            assert rounds < n  # it stopped by itself
            sizes.append(active.mean())
    return np.array(sizes)


def test_watts_window_from_generating_functions():
    """The analytic window for phi = 0.18: z = 4 inside, z = 0.5 and z = 12 outside."""
    assert window_excess(4.0, WATTS_PHI) > 0
    assert window_excess(0.5, WATTS_PHI) < 0  # below percolation of the vulnerable
    assert window_excess(12.0, WATTS_PHI) < 0  # too few vulnerable nodes
    # its edges, about z = 1.02 and z = 5.76 (Watts 2002, Fig. 2a, phi = 0.18)
    low = brentq(window_excess, 0.5, 4.0, args=(WATTS_PHI,))
    high = brentq(window_excess, 4.0, 12.0, args=(WATTS_PHI,))
    assert 1.0 < low < 1.05
    assert 5.7 < high < 5.8
    assert global_cascade_share(12.0, WATTS_PHI) < 1e-9
    assert global_cascade_share(0.5, WATTS_PHI) < 1e-9


def test_watts_global_cascades_inside_the_window():
    """z = 4: the share of seeds that tip more than half the graph matches the prediction."""
    sizes = cascade_sizes(4.0, graphs=10, seeds=10, rng_seed=2002)
    hits = float(np.mean(sizes > 0.5))
    expected = global_cascade_share(4.0, WATTS_PHI)
    assert 0.8 < expected < 0.9
    # four binomial standard errors
    assert abs(hits - expected) < 4 * np.sqrt(expected * (1 - expected) / sizes.size)
    # cascades are either global or tiny, as in Watts's Fig. 1
    assert np.all((sizes > 0.9) | (sizes < 0.01))


@pytest.mark.parametrize("z", [0.5, 12.0])
def test_watts_no_global_cascades_outside_the_window(z):
    sizes = cascade_sizes(z, graphs=5, seeds=10, rng_seed=2002)
    assert sizes.max() < 0.01


# ---------------------------------------------------------------------- the peer term


def star_multiplex(ties: list[list[int]], n: int) -> list[sp.csr_array]:
    """One layer per list: person 0 tied to each person in that list."""
    layers = []
    for members in ties:
        a = np.zeros((n, n))
        a[0, members] = a[members, 0] = 1.0
        layers.append(sp.csr_array(a))
    return layers


def test_pooled_share_by_hand():
    """Person 0: work ties 1, 2; residence ties 2, 3, 4; online ties 5-8; weights 1, 1, 0.5.

    Active: 1, 3, 5, 6, 7. Pooled share of person 0:
    (1 * 1 + 1 * 1 + 0.5 * 3) / (1 * 2 + 1 * 3 + 0.5 * 4) = 3.5 / 7 = 0.5.
    Person 2 is tied to 0 on two layers and to no one active: 0. The OR rule would give 3/4.
    """
    n = 9
    layers = star_multiplex([[1, 2], [2, 3, 4], [5, 6, 7, 8]], n)
    active = np.zeros(n, bool)
    active[[1, 3, 5, 6, 7]] = True
    peers = Peers.from_layers(layers, [1.0, 1.0, 0.5])
    share = peers.share(active)
    assert share[0] == pytest.approx(0.5, abs=1e-7)
    assert np.all(share[1:] == 0)  # everyone else's only neighbour, person 0, is inactive
    or_rule = Peers.from_layers(layers, [1.0, 1.0, 0.5], rule="or", min_active=1)
    assert or_rule.share(active)[0] == pytest.approx(3 / 4, abs=1e-7)
    # person 0 active: person 2 sees it on both of its layers, the others on their one
    share = peers.share(np.eye(n, dtype=bool)[0])
    assert np.all(share[1:] == 1.0)


def test_or_rule_min_active_ignores_a_lone_active_neighbour():
    """Person 0: one work tie (1, active); residence ties 2-5 (2, 3 active).

    OR with min_active 1: work's share 1 wins. With min_active 2 work does not count (one
    active neighbour there): residence's 1/2. Pooled (weights 1, 1): 3/5.
    """
    n = 6
    layers = star_multiplex([[1], [2, 3, 4, 5]], n)
    active = np.zeros(n, bool)
    active[[1, 2, 3]] = True
    expected = {("or", 1): 1.0, ("or", 2): 0.5, ("pooled", 2): 0.6}
    threshold = np.full(n, 10.0)
    threshold[0] = 0.55
    for (rule, min_active), share in expected.items():
        peers = Peers.from_layers(layers, rule=rule, min_active=min_active)
        assert peers.share(active)[0] == pytest.approx(share, abs=1e-7), rule
        out, _ = threshold_cascade(peers, active, np.zeros(n), threshold, 1.0, 10)
        assert bool(out[0]) is (share > 0.55), (rule, min_active)
        assert np.array_equal(out[1:], active[1:])  # nobody else moves; active stay active


def test_unknown_peer_rule_fails():
    with pytest.raises(ValueError, match="rule = 'and'"):
        Peers.from_layers([complete_graph(3)], rule="and")
    with pytest.raises(ValueError, match="min_active = 0"):
        Peers.from_layers([complete_graph(3)], rule="or", min_active=0)
    with pytest.raises(sim.ConfigError, match=r"^model.peer_rule = 'and': must be one of"):
        sim.ModelParams(peer_rule="and")


@pytest.mark.parametrize("rule", ["pooled", "or"])
def test_model_peer_term_on_its_own_network(rule):
    """The model's operator gives the share defined in DESIGN §5.11 with its influence weights."""
    params = sim.ModelParams(people=600, peer_rule=rule)
    model = sim.PartyBuildingModel(params, rng=11)
    assert model.ops.peers.rule == rule
    active = np.random.default_rng(5).random(params.people) < 0.3
    weights = {"work": params.weight_work, "residence": params.weight_residence}
    weights["online"] = params.weight_online
    counts = [model.network.layers[k].toarray() @ active for k in LAYERS]
    degrees = [model.network.layers[k].toarray().sum(axis=1) for k in LAYERS]
    if rule == "pooled":
        num = sum(weights[k] * c for k, c in zip(LAYERS, counts, strict=True))
        den = sum(weights[k] * d for k, d in zip(LAYERS, degrees, strict=True))
        expected = np.where(den > 0, num / np.maximum(den, 1e-300), 0.0)
    else:
        shares = [
            np.where((c >= params.or_min_active) & (d > 0), c / np.maximum(d, 1), 0.0)
            for c, d in zip(counts, degrees, strict=True)
        ]
        expected = np.max(shares, axis=0)
    got = model.ops.peers.share(active)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)
    assert np.ptp(expected) > 0.5  # the case is not trivial


def test_default_peer_rule_is_pooled():
    assert sim.ModelParams().peer_rule == "pooled"
    assert sim.ModelParams().or_min_active == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_bounded_confidence_equals_numpy_reference(dtype):
    """The fused kernel gives exactly (bit for bit) what the numpy and scipy passes give.

    A random weighted graph with isolated people, views spread so that some ties are cut and
    some rows lose every tie; several bounds, including one that cuts nothing.
    """
    rng = np.random.default_rng(11)
    n = 3_000
    a = sp.random_array((n, n), density=0.0005, rng=rng, format="csr")
    a = (a + a.T).tocsr()
    a.data = rng.choice([0.5, 1.0, 2.0], a.nnz)
    op = BoundedConfidenceOperator(a)
    x = rng.random(n).astype(dtype)
    assert (op.row_degree == 0).any()  # isolated people keep their view
    for eps in (0.0, 0.02, 0.35, 0.999):
        got, ref = op.apply(x, eps), op.apply_reference(x, eps)
        assert got.dtype == ref.dtype == dtype
        np.testing.assert_array_equal(got, ref)
        if 0 < eps < 0.5:
            assert not np.array_equal(got, x)  # the bound leaves some influence
            assert not np.array_equal(got, op.apply(x, 1.0))  # and cuts some ties
