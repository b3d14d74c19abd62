"""Per-run metrics: each run's time series reduced to one number per outcome."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from experiments.figures.lang import tr

#: Weeks at the end of a run over which "final-year" outcomes are averaged.
FINAL_WEEKS = 52

#: Per-run scalar metrics: name -> (column of the per-step table, reduction, axis label).
METRICS: dict[str, tuple[str, str, str]] = {
    "cohesion": ("cohesion", "final", "Cohesion\n(mean member commitment, final year)"),
    "mobilization": (
        "mobilization",
        "peak",
        "Mobilization\n(peak participation share in the call)",
    ),
    "burden": ("burden", "final", "Burden\n(paperwork share of branch hours, final year)"),
    "business_performance": (
        "business_performance",
        "final",
        "Business performance\n(mean index of units with a branch, final year)",
    ),
    "sensing_error": ("sensing_error", "final", "Sensing error\n(final year)"),
    "floating_gap": (
        "floating_gap",
        "final",
        "Floating gap\n(formal - effective coverage, final year)",
    ),
    "floating_members": (
        "floating_members",
        "final",
        "Floating members\n(share without a branch, final year)",
    ),
    "identification": ("identification", "final", "Identification\n(masses' mean, final year)"),
    "effective_coverage": (
        "effective_coverage",
        "final",
        "Effective coverage\n(masses reached, final year)",
    ),
    "new_strata_recruit_share": (
        "new_strata_recruit_share",
        "final",
        "New strata and platform workers\n(share of recruits, final year)",
    ),
}


#: Metrics that are shares (in [0, 1]): their intervals are cut to [0, 1]
#: (:func:`experiments.stats.clip_shares`). The floating gap is a difference of shares and
#: business performance and sensing error are indices, so they are not cut.
SHARES = (
    "cohesion",
    "mobilization",
    "burden",
    "floating_members",
    "identification",
    "effective_coverage",
    "new_strata_recruit_share",
)


def label(metric: str) -> str:
    """The axis label of a metric, in the current figure language."""
    return tr(METRICS[metric][2])


def run_metrics(
    runs: pd.DataFrame,
    metrics: Sequence[str] = ("cohesion", "mobilization"),
    final_weeks: int = FINAL_WEEKS,
) -> pd.DataFrame:
    """Reduce each run's time series to one number per metric.

    ``final`` metrics are the mean over the last ``final_weeks`` steps of the run (all steps if
    the run is shorter); ``peak`` metrics are the maximum over steps.

    Args:
        runs: Tidy per-step table with columns ``scenario``, ``seed``, ``step`` and the metrics'
            source columns.
        metrics: Names from :data:`METRICS`.
        final_weeks: Length of the final window.

    Returns:
        One row per (scenario, seed) with one column per metric.
    """
    rows = []
    for (scenario, seed), run in runs.groupby(["scenario", "seed"], sort=False):
        row: dict[str, object] = {"scenario": scenario, "seed": seed}
        last = run["step"].max()
        for name in metrics:
            column, how, _ = METRICS[name]
            series = run[column].astype(float)
            row[name] = (
                series.max() if how == "peak" else series[run["step"] > last - final_weeks].mean()
            )
        rows.append(row)
    return pd.DataFrame(rows)
