"""The three network layers over people, generated vectorised from a seeded generator.

* ``work``: ties inside a work unit (each person draws a few colleagues at random);
* ``residence``: a ring lattice inside each residential community with a share of ties rewired
  to random co-residents (Watts and Strogatz 1998, kept inside the community), which gives the
  local clustering of neighbourhoods;
* ``online``: weak ties with a heavy-tailed degree, from the Chung and Lu (2002) expected-degree
  model with Pareto activities; platform workers are more active online.

Every layer is a symmetric binary ``scipy.sparse.csr_array`` (float32 data, no self-loops).
No Python loop runs per person: each layer costs a few array passes over its edges and one
compiled pass that lays them out as CSR.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from sim.sparse import weighted_sum


def symmetric_adjacency(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_array:
    """Binary symmetric CSR adjacency from an edge list (duplicates and self-loops dropped).

    The matrix scipy's COO -> CSR conversion gives for both directions of every tie, with
    duplicates summed and the weights set back to 1, built by one compiled pass
    (:func:`_symmetric_csr`): a counting sort by row, then a sort and merge inside each row.
    No comparison sort over all ties, no coordinate arrays for both directions, no weights
    to move along.

    Args:
        rows: one endpoint of each tie (indices below ``n``, ``n`` below 2**31).
        cols: the other endpoint of each tie.
        n: number of people.

    Returns:
        The adjacency: float32 ones, int32 indices, canonical format (sorted, no duplicates).
    """
    indptr, indices = _symmetric_csr(rows, cols, n)
    out = sp.csr_array((np.ones(indices.size, np.float32), indices, indptr), shape=(n, n))
    out.has_canonical_format = True  # sorted, without duplicates, by construction
    return out


#: At most this many blocks of consecutive rows in :func:`_symmetric_csr`'s first pass.
ROW_BLOCKS = 64


@numba.njit(cache=True, nogil=True)
def _symmetric_csr(rows, cols, n):  # pragma: no cover - compiled
    """CSR ``(indptr, indices)`` (int32) of the ties (rows, cols) in both directions.

    Each row's columns are sorted and distinct; self-ties are dropped.

    The ties are first dealt into at most ``ROW_BLOCKS`` blocks of consecutive rows, then
    placed row by row within each block: a tie of a random pair of people then writes into a
    block a few hundred kilobytes long instead of anywhere in the whole matrix. At a million
    people this takes a third off the online layer (random pairs) and a fifth off the residence
    layer; the work layer, whose ties are near each other already, takes longer. Rows are
    sorted afterwards, so the order in which ties reach a row does not matter.
    """
    shift = 0
    while (n >> shift) > ROW_BLOCKS:
        shift += 1
    blocks = (n >> shift) + 1
    block_start = np.zeros(blocks + 1, np.int64)
    for e in range(rows.size):
        r, c = rows[e], cols[e]
        if r != c:
            block_start[(r >> shift) + 1] += 1
            block_start[(c >> shift) + 1] += 1
    for b in range(blocks):
        block_start[b + 1] += block_start[b]
    total = block_start[blocks]
    # (row, column) of both directions of every tie, block after block
    at_row = np.empty(total, np.int32)
    at_col = np.empty(total, np.int32)
    block_fill = block_start[:-1].copy()
    for e in range(rows.size):
        r, c = rows[e], cols[e]
        if r != c:
            k = block_fill[r >> shift]
            at_row[k], at_col[k] = r, c
            block_fill[r >> shift] = k + 1
            k = block_fill[c >> shift]
            at_row[k], at_col[k] = c, r
            block_fill[c >> shift] = k + 1
    start = np.zeros(n + 1, np.int64)
    for k in range(total):
        start[at_row[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = start[:-1].copy()
    indices = np.empty(total, np.int32)
    for k in range(total):
        r = at_row[k]
        indices[fill[r]] = at_col[k]
        fill[r] += 1
    # sort each row and keep its distinct columns, compacting in place (k never passes lo)
    indptr = np.zeros(n + 1, np.int32)
    row = np.empty(32, np.int32)
    k = 0
    for i in range(n):
        lo, hi = start[i], start[i + 1]
        m = hi - lo
        if m > 32:
            indices[lo:hi].sort()  # a hub of the online layer
        elif m > 1:
            # most rows hold a handful of ties: each goes straight to its rank (the number of
            # columns before it), counted without branches; an insertion sort's comparisons
            # are coin tosses the processor keeps mispredicting
            row[:m] = indices[lo:hi]
            for j in range(m):
                v = row[j]
                rank = 0
                for t in range(m):
                    rank += (row[t] < v) | ((row[t] == v) & (t < j))
                indices[lo + rank] = v
        previous = -1
        for j in range(lo, hi):  # a column equal to the one before is a duplicate
            v = indices[j]
            indices[k] = v
            k += v != previous
            previous = v
        indptr[i + 1] = k
    return indptr, indices[:k].copy()


def group_order(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``np.lexsort((key, group))``: indices by group, then key, then index, but faster.

    ``lexsort`` and ``argsort`` compare generically and move indices along with values; numpy
    sorts plain unsigned integers in place with vector instructions, many times faster. So each
    item becomes one 64-bit word, from the high bits down: its group (counted from 0), the
    leading bits of its key mapped to an unsigned integer in the same order, and its index.
    One sort of these words orders the items by group, then key, then index, except inside
    runs whose truncated keys tie while the full keys may differ (a handful among a million);
    those runs are then put in ``lexsort``'s order. The result is the same permutation.

    Args:
        group: integer labels.
        key: float keys (with NaN, or labels too far apart to pack, the plain ``lexsort`` runs).
    """
    n = group.size
    if n == 0 or np.isnan(key).any():
        return np.lexsort((key, group))
    label = group.astype(np.int64) - int(group.min())
    index_bits = max(n - 1, 1).bit_length()
    key_bits = 64 - index_bits - int(label.max()).bit_length()
    if key_bits < 0:
        return np.lexsort((key, group))
    words = _ordered_bits(key) >> np.uint64(64 - key_bits) if key_bits else np.zeros(n, np.uint64)
    words |= label.astype(np.uint64) << np.uint64(key_bits)
    words <<= np.uint64(index_bits)
    words |= np.arange(n, dtype=np.uint64)
    words.sort()  # distinct words: any sort gives this order (numpy's is vectorised)
    order = (words & np.uint64((1 << index_bits) - 1)).astype(np.intp)
    words >>= np.uint64(index_bits)  # group and truncated key
    tie = np.flatnonzero(words[1:] == words[:-1])
    if tie.size:
        # the runs sort as their words do, so sorting all their positions at once by the full
        # keys leaves each run in place
        run = np.union1d(tie, tie + 1)
        at = order[run]
        order[run] = at[np.lexsort((at, key[at], label[at]))]
    return order


def _ordered_bits(key: np.ndarray) -> np.ndarray:
    """Unsigned 64-bit integers in the order of the (non-NaN) float keys; -0.0 maps as 0.0."""
    bits = (key.astype(np.float64) + 0.0).view(np.uint64)  # adding 0.0 turns -0.0 into 0.0
    # positive floats order as their bit patterns; negative ones in reverse: flip them all, and
    # set the sign bit of the positive ones so that they follow
    negative = (bits >> np.uint64(63)).astype(bool)
    return np.where(negative, ~bits, bits | np.uint64(1 << 63))


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
    size_at = np.repeat(size, k)  # src is sorted: repeating beats gathering
    # offsets in [1, size-1] so a person never draws itself
    dst = src + 1 + uniform_below(rng, size_at - 1)
    wrap_at_group_end(dst, size_at, np.repeat(start + size, k))
    return people[src], people[dst]


def uniform_below(rng: np.random.Generator, span: np.ndarray) -> np.ndarray:
    """``floor(u * span)`` for one uniform ``u`` per entry (truncation is floor here)."""
    return (rng.random(span.size) * span).astype(np.int64)


def wrap(position: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``position % size`` for positions in [0, 2 * size), in place and without a division."""
    np.subtract(position, size, out=position, where=position >= size)
    return position


def wrap_at_group_end(dst: np.ndarray, size: np.ndarray, end: np.ndarray) -> None:
    """Positions in the group order that ran past their group's end come round to its start.

    In the order of :func:`group_layout` a person's position is ``start + pos``, so moving
    ``k`` places on inside the group (``0 <= k < size``) gives
    ``start + wrap(pos + k, size) == src + k - (size if src + k >= end else 0)``, with
    ``end = start + size``: the same positions, without gathering ``start`` and ``pos``.

    Args:
        dst: ``src + k`` for each item, changed in place.
        size: the size of each item's group.
        end: the position where each item's group ends.
    """
    np.subtract(dst, size, out=dst, where=dst >= end)


def ring_within_groups(
    group: np.ndarray, degree: int, rewire: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Ring lattice of ``degree`` neighbours inside each group, with rewiring inside the group."""
    half = max(degree // 2, 0)
    if half == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order, start, size, pos = group_layout(group, rng)
    n = group.size
    src = np.repeat(np.arange(n), half)  # sorted: repeating per-person values beats gathering
    dst = src + np.tile(np.arange(1, half + 1), n)
    size_at, end_at = np.repeat(size, half), np.repeat(start + size, half)
    if size.min() <= half:  # a group too small for every step: drop the steps past its size
        valid = dst - src < size_at
        src, dst, size_at, end_at = src[valid], dst[valid], size_at[valid], end_at[valid]
    wrap_at_group_end(dst, size_at, end_at)
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
    index (counted, not searched); a compiled loop then steps over the few ``cdf`` values
    inside the bucket (:func:`_guided_search`). The result is exactly ``searchsorted``'s.

    Args:
        cdf: nondecreasing values in [0, 1] (values above 1, as a normalised cumulative sum
            may end with, are above every ``u`` and never counted).
        u: query values in [0, 1).

    Returns:
        For each ``u``, the number of ``cdf`` values <= ``u`` (int64).
    """
    # about two buckets per cdf value; at least 4,096 so that a short cdf (ages) rarely has
    # two values in one bucket, and the table still fits in the cache
    g = 1 << max(min(int(cdf.size).bit_length() + 1, 24), 12)
    # guide[k]: the number of cdf values <= k / g, i.e. with ceil(cdf * g) <= k (exact)
    top = np.minimum(np.ceil(cdf * g), g + 1).astype(np.int64)
    # int32 counts when they fit: the guide is read at random, so its size matters
    counts = np.int32 if cdf.size < np.iinfo(np.int32).max else np.int64
    guide = np.cumsum(np.bincount(top, minlength=g + 2)[: g + 1], dtype=counts)
    found = np.empty(u.size, np.int64)
    _guided_search(np.asarray(cdf, np.float64), guide, float(g), np.asarray(u, np.float64), found)
    return found


@numba.njit(cache=True, nogil=True)
def _guided_search(cdf, guide, g, u, found):  # pragma: no cover - compiled
    """``found[i]``: the number of ``cdf`` values <= ``u[i]``, from the bucket of ``u[i]``."""
    for i in range(u.size):
        k = np.int64(u[i] * g)  # floor (u >= 0): k / g <= u < (k + 1) / g
        f, end = guide[k], guide[k + 1]
        while f < end and cdf[f] <= u[i]:
            f += 1
        found[i] = f


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
