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
    if top <= 0:
        return np.empty(0, np.int64)
    k = rng.binomial(chance.size, top)
    pick = rng.choice(chance.size, k, replace=False) if k else np.empty(0, np.int64)
    keep = rng.random(pick.size) * top < chance[pick]
    return np.sort(pick[keep])
