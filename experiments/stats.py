"""The statistics behind figures, calibration and notebooks, written once.

Replicates are runs of one condition that differ only in their seed. Every interval here is a
two-sided Student-t confidence interval of a mean over replicates, at :data:`LEVEL` unless told
otherwise:

* :func:`t_interval`: the mean of some values and its interval;
* :func:`paired_difference`: scenario minus reference, matched on seed (common random
  numbers), and the interval of the mean difference;
* :func:`summarise` and :func:`paired_summary`: the same two for every condition and metric of a
  per-run table;
* :func:`series_interval`: the interval at every step of a time series.

With one replicate the mean is still given but the half-width and bounds are NaN (there is no
spread to estimate); with none, everything is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Confidence level of every interval unless a caller says otherwise.
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean over replicates with its t confidence interval.

    Attributes:
        mean: Mean of the values (NaN if there are none).
        half_width: Half the interval's width (NaN with fewer than two values).
        low: ``mean - half_width``.
        high: ``mean + half_width``.
        n: Number of values used (NaN values are dropped).
        sd: Sample standard deviation (``ddof=1``; NaN with fewer than two values).
        level: Confidence level.
    """

    mean: float
    half_width: float
    low: float
    high: float
    n: int
    sd: float
    level: float


def half_width(sd: np.ndarray | float, n: np.ndarray | int, level: float = LEVEL) -> np.ndarray:
    """Half-width of the t-interval of a mean: ``t(1 - (1 - level) / 2, n - 1) * sd / sqrt(n)``.

    Args:
        sd: Sample standard deviation(s) (``ddof=1``).
        n: Number(s) of values.
        level: Confidence level.

    Returns:
        The half-width(s), NaN where ``n < 2``.
    """
    n = np.asarray(n, dtype=float)
    df = np.where(n > 1, n - 1, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return stats.t.ppf(0.5 + level / 2, df) * np.asarray(sd, dtype=float) / np.sqrt(n)


def t_interval(values: Sequence[float] | np.ndarray | pd.Series, level: float = LEVEL) -> Interval:
    """Mean of replicate values and its two-sided t confidence interval.

    Args:
        values: Replicate values; NaN values are ignored.
        level: Confidence level.

    Returns:
        The :class:`Interval`; with one value its half-width and bounds are NaN.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    mean = float(x.mean()) if x.size else float("nan")
    sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
    half = float(half_width(sd, x.size, level))
    return Interval(mean, half, mean - half, mean + half, int(x.size), sd, level)


def paired_difference(scenario: pd.Series, reference: pd.Series, level: float = LEVEL) -> Interval:
    """Mean of scenario minus reference over the seeds both have, with its t-interval.

    Runs with the same seed share their random draws, so the difference of a pair has less
    noise than either run when the two are positively correlated; the interval is the
    one-sample interval of the per-seed differences.

    Args:
        scenario: One value per seed, indexed by seed.
        reference: One value per seed, indexed by seed.
        level: Confidence level.

    Returns:
        The :class:`Interval` of the differences; ``n`` is the number of matched seeds.
    """
    for name, values in (("scenario", scenario), ("reference", reference)):
        if not values.index.is_unique:
            raise ValueError(f"{name}: more than one value per seed; pairing needs one")
    diff = scenario.astype(float) - reference.astype(float)  # aligned on the seed index
    return t_interval(diff.to_numpy(), level)


def _rows(
    groups: pd.core.groupby.DataFrameGroupBy,
    keys: list[str],
    columns: Sequence[str],
    interval,
) -> pd.DataFrame:
    """One row per group and column with the fields of ``interval(group, column)``."""
    rows = []
    for group, part in groups:
        label = dict(zip(keys, group if isinstance(group, tuple) else (group,), strict=True))
        for column in columns:
            iv = interval(part, column)
            row = {**label, "metric": column, **asdict(iv)}
            row["ci_low"], row["ci_high"] = row.pop("low"), row.pop("high")
            row["cv_mean"] = iv.sd / np.sqrt(iv.n) / abs(iv.mean) if iv.mean else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def _value_columns(metrics: pd.DataFrame, keys: list[str], on: str) -> list[str]:
    return [c for c in metrics.columns if c not in keys and c != on]


def _keys(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def summarise(
    metrics: pd.DataFrame, by: str | Sequence[str] = "scenario", level: float = LEVEL
) -> pd.DataFrame:
    """The t-interval of every metric in every condition of a per-run table.

    Args:
        metrics: One row per run: the ``by`` columns, ``seed`` and one column per metric.
        by: Column(s) identifying a condition (default: the scenario).
        level: Confidence level.

    Returns:
        Tidy table: the ``by`` columns, ``metric``, ``mean``, ``half_width``, ``n``, ``sd``,
        ``level``, ``ci_low``, ``ci_high`` and ``cv_mean`` (standard error over the absolute
        mean: small means the replicates suffice).
    """
    keys = _keys(by)
    return _rows(
        metrics.groupby(keys, sort=False),
        keys,
        _value_columns(metrics, keys, "seed"),
        lambda part, column: t_interval(part[column], level),
    )


def paired_summary(
    metrics: pd.DataFrame,
    reference: pd.DataFrame,
    by: str | Sequence[str] = "scenario",
    on: str = "seed",
    level: float = LEVEL,
) -> pd.DataFrame:
    """Paired differences from a reference, for every condition and metric of a per-run table.

    Args:
        metrics: One row per run: the ``by`` columns, ``on`` and one column per metric.
        reference: The reference runs: ``on`` and the same metric columns, one row per seed
            (e.g. ``metrics[metrics["scenario"] == "baseline"]``).
        by: Column(s) identifying a condition.
        on: Column the runs are matched on.
        level: Confidence level.

    Returns:
        The same columns as :func:`summarise`, for condition minus reference; the reference's
        own condition, if among ``metrics``, has differences of exactly zero.
    """
    keys = _keys(by)
    ref = reference.set_index(on)
    return _rows(
        metrics.groupby(keys, sort=False),
        keys,
        _value_columns(metrics, keys, on),
        lambda part, column: paired_difference(part.set_index(on)[column], ref[column], level),
    )


def series_interval(
    runs: pd.DataFrame, column: str, by: str | Sequence[str] = "scenario", level: float = LEVEL
) -> pd.DataFrame:
    """Per condition and step: the mean of a column over seeds and its t-interval.

    Args:
        runs: Per-step table with the ``by`` columns, ``step`` and ``column``.
        column: The series.
        by: Column(s) identifying a condition.
        level: Confidence level.

    Returns:
        One row per condition and step: ``mean``, ``std``, ``count``, ``half_width``,
        ``ci_low``, ``ci_high`` (NaN half-width at steps with one run).
    """
    out = runs.groupby([*_keys(by), "step"])[column].agg(["mean", "std", "count"]).reset_index()
    out["half_width"] = half_width(out["std"], out["count"], level)
    out["ci_low"] = out["mean"] - out["half_width"]
    out["ci_high"] = out["mean"] + out["half_width"]
    return out
