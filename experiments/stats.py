"""The statistics behind figures, calibration and notebooks, written once.

Replicates are runs of one condition that differ only in their seed. Every interval here is a
two-sided Student-t confidence interval of a mean over replicates, at :data:`LEVEL` unless told
otherwise:

* :func:`t_interval`: the mean of some values and its interval;
* :func:`paired_difference`: scenario minus reference, matched on seed (common random
  numbers), and the interval of the mean difference;
* :func:`summarise` and :func:`paired_summary`: the same two for every condition and metric of a
  per-run table;
* :func:`series_interval`: the interval at every step of a time series;
* :func:`clip_shares`: intervals of shares cut to [0, 1] (flagged);
* :func:`precision`: whether the seeds suffice: the achieved half-width of each paired
  difference against a target, and the seeds a target would need;
* :func:`synergy`: the four-dimension synergy, all four packages minus the baseline minus the
  sum of the single effects, paired by seed;
* :func:`cohens_dz`: the paired effect size, mean difference over the SD of the differences.

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
            row["d_z"] = cohens_dz(iv)
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
        ``level``, ``ci_low``, ``ci_high``, ``cv_mean`` (standard error over the absolute
        mean: small means the replicates suffice) and ``d_z`` (mean over SD; an effect size
        only where the values are paired differences).
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
        own condition, if among ``metrics``, has differences of exactly zero. ``d_z`` is
        Cohen's paired effect size (:func:`cohens_dz`).
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


def cohens_dz(iv: Interval) -> float:
    """Cohen's d_z of paired differences: their mean over their standard deviation.

    Args:
        iv: The interval of per-seed differences (:func:`paired_difference`).

    Returns:
        ``mean / sd``; NaN with fewer than two pairs or no spread beyond rounding (then every
        pair agrees and a standardised size is undefined, not infinite).
    """
    # a spread of rounding noise (differences equal to the last bit) counts as none
    if iv.n < 2 or not np.isfinite(iv.sd) or iv.sd <= 1e-12 * max(1.0, abs(iv.mean)):
        return float("nan")
    return iv.mean / iv.sd


def clip_shares(summary: pd.DataFrame, shares: Sequence[str]) -> pd.DataFrame:
    """Cut the intervals of shares to [0, 1] and flag the rows that were cut.

    A t-interval of a mean of shares near 0 or 1 can reach past the bound; the true mean
    cannot, so the bound is the honest end of the interval. Captions say so.

    Args:
        summary: Output of :func:`summarise` (levels, not differences).
        shares: Metrics that are shares (in [0, 1]).

    Returns:
        A copy with ``ci_low`` and ``ci_high`` cut for the share metrics and a boolean
        ``clipped`` column (True where a bound moved).
    """
    out = summary.copy()
    is_share = out["metric"].isin(list(shares))
    low = out["ci_low"].where(~is_share, out["ci_low"].clip(lower=0.0))
    high = out["ci_high"].where(~is_share, out["ci_high"].clip(upper=1.0))
    out["clipped"] = (low != out["ci_low"]) & out["ci_low"].notna() | (
        (high != out["ci_high"]) & out["ci_high"].notna()
    )
    out["ci_low"], out["ci_high"] = low, high
    return out


#: Absolute half-width a headline difference's 95% CI should reach (outcomes are shares).
TARGET_HALF_WIDTH = 0.01
#: Or: the half-width is at most this fraction of the difference itself (its sign and rough
#: size are then known).
TARGET_RELATIVE = 0.5


def precision(
    paired: pd.DataFrame,
    target: float = TARGET_HALF_WIDTH,
    relative: float = TARGET_RELATIVE,
) -> pd.DataFrame:
    """Whether the seeds suffice for each paired difference, and how many a target would need.

    A difference is estimated precisely enough when its CI half-width is below ``target`` or
    below ``relative`` times the size of the difference. The half-width shrinks like
    ``1 / sqrt(n)`` (the t quantile aside), so the seeds needed are
    ``ceil(n * (half_width / goal) ** 2)`` with ``goal`` the larger of the two targets.

    Args:
        paired: Rows of :func:`paired_summary` (``mean``, ``half_width``, ``n``).
        target: Absolute half-width goal.
        relative: Relative half-width goal (fraction of ``|mean|``).

    Returns:
        A copy with ``target`` (the goal used), ``sufficient`` (bool; False with one seed) and
        ``seeds_needed`` (NaN with one seed, where no spread is known).
    """
    out = paired.copy()
    goal = np.maximum(target, relative * out["mean"].abs().to_numpy(float))
    half = out["half_width"].to_numpy(float)
    out["target"] = goal
    out["sufficient"] = np.isfinite(half) & (half <= goal)
    n = out["n"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        needed = np.ceil(n * (half / goal) ** 2)
    out["seeds_needed"] = np.where(np.isfinite(half), np.maximum(needed, 2), np.nan)
    return out


def precision_line(paired: pd.DataFrame) -> str:
    """One line on the achieved precision of some paired differences (for the command line).

    Args:
        paired: Output of :func:`precision`.

    Returns:
        E.g. ``"6 headline differences: 95% CI half-width 0.002-0.011; seeds suffice for 5 of
        6 (target: half-width <= 0.01 or <= half the difference); up to 8 seeds needed"``.
    """
    rows = paired[paired["half_width"].notna()]
    if rows.empty:
        return f"{len(paired)} headline differences: single run, no interval; add seeds"
    ok = int(rows["sufficient"].sum())
    low, high = rows["half_width"].min(), rows["half_width"].max()
    line = (
        f"{len(rows)} headline differences: {LEVEL:.0%} CI half-width {low:.4f}-{high:.4f}; "
        f"seeds suffice for {ok} of {len(rows)} (target: half-width <= {TARGET_HALF_WIDTH:g}"
        f" or <= {TARGET_RELATIVE:g} x the difference)"
    )
    if ok < len(rows):
        line += f"; up to {int(rows['seeds_needed'].max())} seeds needed"
    return line
