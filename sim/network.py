"""The three network layers over people, generated vectorised from a seeded generator.

* ``work``: ties inside a work unit (each person draws a few colleagues at random);
* ``residence``: a ring lattice inside each residential community with a share of ties rewired
  to random co-residents (Watts and Strogatz 1998, kept inside the community), which gives the
  local clustering of neighbourhoods;
* ``online``: weak ties with a heavy-tailed degree, from the Chung and Lu (2002) expected-degree
  model with Pareto activities; platform workers are more active online.

Every layer is a symmetric binary ``scipy.sparse.csr_array`` (float32 data, no self-loops).
No Python loop runs per person: each layer costs a few array passes over its edges.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def symmetric_adjacency(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_array:
    """Binary symmetric CSR adjacency from an edge list (duplicates and self-loops dropped)."""
    keep = rows != cols
    r = np.concatenate([rows[keep], cols[keep]]).astype(np.int32, copy=False)
    c = np.concatenate([cols[keep], rows[keep]]).astype(np.int32, copy=False)
    a = sp.csr_array((np.ones(r.size, dtype=np.float32), (r, c)), shape=(n, n))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


def group_layout(group: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Order people by group in a random order within each group.

    Returns:
        order: person ids sorted by group (random order inside a group);
        start: for each person in ``order``, the position where its group starts;
        size: for each person in ``order``, its group's size;
        pos: for each person in ``order``, its position inside the group.
    """
    tiebreak = rng.random(group.size)
    order = np.lexsort((tiebreak, group))
    g = group[order]
    boundaries = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[boundaries, g.size])
    start = np.repeat(boundaries, sizes)
    size = np.repeat(sizes, sizes)
    pos = np.arange(g.size) - start
    return order, start, size, pos


def random_within_groups(
    group: np.ndarray, degree: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each member of a group draws ``degree`` partners uniformly from its own group.

    Args:
        group: group id per person, or -1 for people in no group.
        degree: ties each person draws (capped by group size - 1).
        rng: generator.

    Returns:
        Edge endpoints (rows, cols), one direction only.
    """
    idx = np.flatnonzero(group >= 0)
    if idx.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order, start, size, pos = group_layout(group[idx], rng)
    people = idx[order]
    k = np.minimum(degree[people], size - 1)
    kmax = int(k.max()) if k.size else 0
    if kmax <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    src = np.repeat(np.arange(people.size), k)
    # offsets in [1, size-1] so a person never draws itself
    span = (size - 1)[src]
    off = 1 + np.floor(rng.random(src.size) * span).astype(np.int64)
    dst = start[src] + (pos[src] + off) % size[src]
    return people[src], people[dst]


def ring_within_groups(
    group: np.ndarray, degree: int, rewire: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Ring lattice of ``degree`` neighbours inside each group, with rewiring inside the group."""
    half = max(degree // 2, 0)
    if half == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order, start, size, pos = group_layout(group, rng)
    n = group.size
    src = np.repeat(np.arange(n), half)
    step = np.tile(np.arange(1, half + 1), n)
    valid = step < size[src]
    src, step = src[valid], step[valid]
    dst = start[src] + (pos[src] + step) % size[src]
    flip = rng.random(src.size) < rewire
    if flip.any():
        s = src[flip]
        off = 1 + np.floor(rng.random(s.size) * (size[s] - 1)).astype(np.int64)
        dst[flip] = start[s] + (pos[s] + off) % size[s]
    return order[src], order[dst]


def chung_lu(
    activity: np.ndarray, mean_degree: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Chung-Lu expected-degree graph: edge endpoints drawn in proportion to activity."""
    n = activity.size
    m = int(round(n * mean_degree / 2))
    if m == 0 or n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    cdf = np.cumsum(activity, dtype=np.float64)
    cdf /= cdf[-1]
    u = np.searchsorted(cdf, rng.random(m), side="right")
    v = np.searchsorted(cdf, rng.random(m), side="right")
    return np.minimum(u, n - 1), np.minimum(v, n - 1)


def build_layers(
    unit: np.ndarray,
    community: np.ndarray,
    platform: np.ndarray,
    *,
    work_degree: int,
    platform_work_degree: int,
    residence_degree: int,
    residence_rewire: float,
    online_degree: float,
    online_tail: float,
    online_platform_boost: float,
    rng: np.random.Generator,
    return_activity: bool = False,
) -> dict[str, sp.csr_array] | tuple[dict[str, sp.csr_array], np.ndarray]:
    """Generate the work, residence and online layers.

    Args:
        unit: work unit per person (-1 for none).
        community: residential community per person.
        platform: whether a person works in the platform sector.
        work_degree: ties drawn inside a stable unit.
        platform_work_degree: ties drawn inside a platform organisation (gig work is solitary).
        residence_degree: ring-lattice degree inside the community.
        residence_rewire: share of residence ties rewired inside the community.
        online_degree: mean online degree.
        online_tail: Pareto exponent of online activity.
        online_platform_boost: activity multiplier of platform workers.
        rng: the generator spawned for the network from the model's seed.
        return_activity: also return each person's online activity (the Chung-Lu weight),
            which social change (``sim.mechanisms.social_change``) reuses to draw new online ties.
    """
    n = unit.size
    deg = np.where(platform, platform_work_degree, work_degree).astype(np.int64)
    wr, wc = random_within_groups(unit, deg, rng)
    rr, rc = ring_within_groups(community, residence_degree, residence_rewire, rng)
    activity = rng.pareto(online_tail - 1, n) + 1.0
    activity = activity * np.where(platform, online_platform_boost, 1.0)
    orow, ocol = chung_lu(activity, online_degree, rng)
    layers = {
        "work": symmetric_adjacency(wr, wc, n),
        "residence": symmetric_adjacency(rr, rc, n),
        "online": symmetric_adjacency(orow, ocol, n),
    }
    return (layers, activity) if return_activity else layers


def drop_people(a: sp.csr_array, gone: np.ndarray) -> sp.csr_array:
    """The adjacency without any tie of the people flagged in ``gone`` (rows and columns)."""
    keep = ~gone[a.indices]
    keep &= np.repeat(~gone, np.diff(a.indptr))
    kept = np.r_[0, np.cumsum(keep)]
    return sp.csr_array((a.data[keep], a.indices[keep], kept[a.indptr]), shape=a.shape)


def add_ties(a: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> sp.csr_array:
    """A binary symmetric adjacency with the ties (rows, cols) added (self-ties ignored)."""
    out = sp.csr_array(a + symmetric_adjacency(rows, cols, a.shape[0]))
    out.data[:] = 1.0
    return out
