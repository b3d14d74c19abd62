"""Shared test helpers: paired-seed comparisons.

A mechanism's direction is tested by running two configurations (the treated and the control
arm) on the same seeds, so that both arms share their random draws and the per-seed difference
isolates the lever, and by asking the mean difference to exceed three standard errors of the
per-seed differences in the direction the mechanism implies::

    def burden(policy, seed):
        m = PartyBuildingModel(ModelParams(people=2000), policy, rng=seed)
        m.run_for(104)
        return m.outcomes()["burden"]

    diffs = paired_differences(burden, PolicyParams(unified_table=True), PolicyParams(), SEEDS)
    assert_mean_sign(diffs, -1)

Import them with ``from conftest import ...`` (``tests/`` is on the import path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np


def paired_differences(
    measure: Callable[[Any, int], float | Mapping[str, float]],
    treated: Any,
    control: Any,
    seeds: Iterable[int],
) -> Any:
    """Per seed, ``measure(treated, seed) - measure(control, seed)``.

    Args:
        measure: Runs one arm on one seed and returns an outcome, or several outcomes by name
            (then every outcome comes from the same pair of runs).
        treated: The arm with the lever changed (whatever ``measure`` takes: a value of the
            lever, a params object, ...).
        control: The other arm.
        seeds: The seeds; both arms run on each.

    Returns:
        One difference per seed: an array, or a dict of arrays by outcome name.
    """
    rows = [(measure(treated, seed), measure(control, seed)) for seed in seeds]
    if rows and isinstance(rows[0][0], Mapping):
        return {k: np.array([a[k] - b[k] for a, b in rows], float) for k in rows[0][0]}
    return np.array([a - b for a, b in rows], float)


def assert_mean_sign(values: Iterable[float], sign: int = +1, label: str = "difference") -> None:
    """Assert that the mean of per-seed values has ``sign`` and exceeds three standard errors.

    Args:
        values: One value per seed, e.g. from :func:`paired_differences`.
        sign: +1 if the mean must be positive, -1 if negative.
        label: Names the outcome in the failure message.
    """
    d = np.asarray(values, float)
    mean, se = d.mean(), d.std(ddof=1) / np.sqrt(d.size)
    assert sign * mean > 0, f"{label}: mean {mean:+.4g} has the wrong sign ({d})"
    assert sign * mean > 3 * se, f"{label}: mean {mean:+.4g} is within 3 SE ({se:.3g})"
