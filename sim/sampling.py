"""Vectorised random sampling used by the world builder and the mechanisms."""

from __future__ import annotations

import numpy as np


def weighted_sample(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k distinct indices drawn with probability proportional to weights (Gumbel top-k)."""
    with np.errstate(divide="ignore"):
        keys = np.log(weights) - np.log(-np.log(rng.random(weights.size)))
    if k >= weights.size:
        return np.arange(weights.size)
    if k <= 0:
        return np.empty(0, np.int64)
    return np.argpartition(-keys, k)[:k]


def bernoulli_thinned(chance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices i with independent draws ``u_i < chance_i``, for many small chances.

    Exact thinning: with ``c = max(chance)``, a Binomial(n, c) number of indices is drawn
    uniformly without replacement and each is kept with probability ``chance_i / c``. Each
    index ends up kept with probability ``chance_i``, independently, at a cost of random draws
    proportional to the expected number kept rather than to n.
    """
    top = float(chance.max()) if chance.size else 0.0
    return _thin(chance.size, top, lambda pick: chance[pick], rng)


def bernoulli_thinned_by_group(
    table: np.ndarray, group: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``bernoulli_thinned(table[group], rng)``, the same draws and indices, without gathering
    everyone's chance: only the picked indices' chances are read.

    The top chance is the table's value at the largest group present when the table does not
    decrease between the smallest and largest groups present (death hazards rise with age);
    otherwise it is taken over everyone's chance, as ``bernoulli_thinned`` takes it.

    Args:
        table: chance per group (e.g. per year of age).
        group: each index's group (non-negative integers below ``table.size``).
        rng: generator.
    """
    if group.size == 0:
        return np.empty(0, np.int64)
    lo, hi = int(group.min()), int(group.max())
    if np.all(np.diff(table[lo : hi + 1]) >= 0):
        top = float(table[hi])  # a present group, and no present group above it
    else:
        top = float(table[group].max())
    return _thin(group.size, top, lambda pick: table[group[pick]], rng)


def _thin(n: int, top: float, chance_at, rng: np.random.Generator) -> np.ndarray:
    """The thinning of :func:`bernoulli_thinned` over ``n`` indices with top chance ``top``;
    ``chance_at(pick)`` gives the chances of the indices ``pick``."""
    if top <= 0:
        return np.empty(0, np.int64)
    k = rng.binomial(n, top)
    pick = rng.choice(n, k, replace=False) if k else np.empty(0, np.int64)
    keep = rng.random(pick.size) * top < chance_at(pick)
    return np.sort(pick[keep])
