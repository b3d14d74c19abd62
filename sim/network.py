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

import numba
import numpy as np
import scipy.sparse as sp

from sim.sparse import weighted_sum


def symmetric_adjacency(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_array:
    """Binary symmetric CSR adjacency from an edge list (duplicates and self-loops dropped).

    Both directions of every tie are packed into one int64 key (row in the high 32 bits,
    column in the low), so a single fast sort gives the canonical CSR order (rows, then sorted
    columns) with duplicates next to each other: the same matrix as scipy's COO -> CSR
    conversion with ``sum_duplicates``, at a fraction of its cost for millions of ties.
    """
    keep = rows != cols
    a = rows[keep].astype(np.int64, copy=False)
    b = cols[keep].astype(np.int64, copy=False)
    m = a.size
    key = np.empty(2 * m, np.int64)  # filled in place: these arrays hold millions of ties
    for half, high, low in ((key[:m], a, b), (key[m:], b, a)):
        np.left_shift(high, 32, out=half)
        half |= low
    key.sort()
    first = np.ones(key.size, bool)
    np.not_equal(key[1:], key[:-1], out=first[1:])
    key = key[first]
    indptr = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(key >> 32, minlength=n), out=indptr[1:])
    indices = (key & 0xFFFFFFFF).astype(np.int32)
    out = sp.csr_array((np.ones(key.size, np.float32), indices, indptr), shape=(n, n))
    out.has_canonical_format = True  # sorted, without duplicates, by construction
    return out


def group_order(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``np.lexsort((key, group))``: indices by group, then key, then index, but faster.

    ``lexsort`` compares generically and is several times slower than numpy's own sorts. Here
    one fast (unstable) float sort does the work and the rare runs of equal values are put in
    ``lexsort``'s order afterwards, so the result is the same permutation:

    * keys in [0, 1) (random tie-breaks): sort ``label + key`` (labels counted from 0), which
      orders by group, then key, except where rounding makes values equal;
    * other keys: sort by key, then a stable radix sort by group, 16 bits a pass.

    Args:
        group: integer labels.
        key: float keys (with NaN the plain ``lexsort`` runs).
    """
    if group.size == 0 or np.isnan(key).any():
        return np.lexsort((key, group))
    label = group.astype(np.int64) - int(group.min())
    if key.min() >= 0.0 and key.max() < 1.0:
        merged = label + key  # float64, nondecreasing in (label, key)
        order = np.argsort(merged)
        _index_order_in_ties(order, merged[order], (key, label))
        return order
    order = np.argsort(key)
    _index_order_in_ties(order, key[order], (key,))
    top, shift = int(label.max()), 0
    while True:
        digit = ((label[order] >> shift) & 0xFFFF).astype(np.uint16)  # numpy radix-sorts these
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def _index_order_in_ties(order: np.ndarray, sorted_values: np.ndarray, keys: tuple) -> None:
    """Put runs of equal ``sorted_values`` in ``lexsort(keys)`` order, then index, in place.

    ``keys`` (least significant first, as for ``lexsort``) must order the runs as their
    values do, so that sorting all the positions in runs at once leaves each run in place.
    """
    tie = np.flatnonzero(sorted_values[1:] == sorted_values[:-1])
    if tie.size:
        run = np.union1d(tie, tie + 1)  # positions inside runs of equal values
        at = order[run]
        order[run] = at[np.lexsort((at, *(k[at] for k in keys)))]


def group_layout(group: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Order people by group in a random order within each group.

    Returns:
        order: person ids sorted by group (random order inside a group);
        start: for each person in ``order``, the position where its group starts;
        size: for each person in ``order``, its group's size;
        pos: for each person in ``order``, its position inside the group.
    """
    tiebreak = rng.random(group.size)
    order = group_order(group, tiebreak)
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
    dst = start[src] + wrap(pos[src] + 1 + uniform_below(rng, size[src] - 1), size[src])
    return people[src], people[dst]


def uniform_below(rng: np.random.Generator, span: np.ndarray) -> np.ndarray:
    """``floor(u * span)`` for one uniform ``u`` per entry (truncation is floor here)."""
    return (rng.random(span.size) * span).astype(np.int64)


def wrap(position: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``position % size`` for positions in [0, 2 * size), in place and without a division."""
    np.subtract(position, size, out=position, where=position >= size)
    return position


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
    dst = start[src] + wrap(pos[src] + step, size[src])
    flip = rng.random(src.size) < rewire
    if flip.any():
        s = src[flip]
        dst[flip] = start[s] + wrap(pos[s] + 1 + uniform_below(rng, size[s] - 1), size[s])
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
    u = searchsorted_uniform(cdf, rng.random(m))
    v = searchsorted_uniform(cdf, rng.random(m))
    return np.minimum(u, n - 1), np.minimum(v, n - 1)


def searchsorted_uniform(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cdf, u, side="right")`` for many ``u`` in [0, 1), through a guide table.

    A binary search over a million-entry ``cdf`` misses the cache at most of its twenty levels.
    Here ``u`` first finds its bucket among ``g`` (a power of two) equal buckets of [0, 1),
    whose bounds ``k / g`` and ``u * g`` are exact in floating point, and the bucket's first
    index (counted, not searched); a few vectorised probes then step over the ``cdf`` values
    inside the bucket. The result is exactly ``searchsorted``'s.

    Args:
        cdf: nondecreasing values in [0, 1].
        u: query values in [0, 1).

    Returns:
        For each ``u``, the number of ``cdf`` values <= ``u`` (int64).
    """
    g = 1 << min(int(cdf.size).bit_length() + 1, 24)  # about two buckets per cdf value
    # guide[k]: the number of cdf values <= k / g, i.e. with ceil(cdf * g) <= k (exact)
    top = np.minimum(np.ceil(cdf * g), g + 1).astype(np.int64)
    guide = np.cumsum(np.bincount(top, minlength=g + 2))[: g + 1]
    bucket = (u * g).astype(np.int64)  # floor: k / g <= u < (k + 1) / g
    found, end = guide[bucket], guide[bucket + 1]
    todo = np.flatnonzero(found < end)
    while todo.size:
        step = cdf[found[todo]] <= u[todo]
        todo = todo[step]
        found[todo] += 1
        todo = todo[found[todo] < end[todo]]
    return found


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


def neighbours(a: sp.csr_array, ids: np.ndarray) -> np.ndarray:
    """The columns of the rows ``ids`` (everyone tied to them, with repeats)."""
    ids = np.asarray(ids, np.int64)
    start, stop = a.indptr[ids], a.indptr[ids + 1]
    lengths = stop - start
    first = np.cumsum(lengths) - lengths  # where each row's run starts in the output
    at = np.arange(int(lengths.sum())) + np.repeat(start - first, lengths)
    return a.indices[at]


def drop_people(a: sp.csr_array, gone: np.ndarray) -> sp.csr_array:
    """The adjacency without any tie of the people flagged in ``gone`` (rows and columns)."""
    indptr, indices, data = _drop_flagged(a.indptr, a.indices, a.data, gone)
    out = sp.csr_array((data, indices, indptr), shape=a.shape)
    out.has_canonical_format = a.has_canonical_format  # entries kept in their order
    return out


@numba.njit(cache=True, nogil=True)
def _drop_flagged(indptr, indices, data, gone):  # pragma: no cover - compiled
    """CSR arrays without the rows and columns flagged in ``gone``, in one pass."""
    n = indptr.size - 1
    new_ptr = np.zeros(n + 1, indptr.dtype)
    new_idx = np.empty(indices.size, indices.dtype)
    new_data = np.empty(data.size, data.dtype)
    k = 0
    for r in range(n):
        if not gone[r]:
            for jj in range(indptr[r], indptr[r + 1]):
                c = indices[jj]
                if not gone[c]:
                    new_idx[k] = c
                    new_data[k] = data[jj]
                    k += 1
        new_ptr[r + 1] = k
    return new_ptr, new_idx[:k].copy(), new_data[:k].copy()


def add_ties(a: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> sp.csr_array:
    """A binary symmetric adjacency with the ties (rows, cols) added (self-ties ignored).

    The union of the two patterns (the pattern of scipy's ``a + new``), all weights 1.
    """
    new = symmetric_adjacency(rows, cols, a.shape[0])
    empty = sp.csr_array(a.shape, dtype=a.dtype)
    # a = a + 0 + 0: only the rows the new ties touch are merged, the others copied from a
    touched = np.unique(np.r_[rows, cols].astype(np.int64))
    out = weighted_sum(
        [a, new, empty], [1.0, 1.0, 1.0], previous=(a, [a, empty, empty]), rows=touched
    )
    out.data[:] = 1.0
    return out
