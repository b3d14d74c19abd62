"""Figures comparing policy packages (scenarios): levels per scenario and time series."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.figures.metrics import run_metrics
from experiments.figures.panels import bar_panel
from experiments.figures.registry import Drawing, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import series_interval, summarise


@figure("scenario_bars")
def scenario_bars(record: ExperimentRecord) -> Drawing:
    """Two panels, cohesion and mobilization, as bars per scenario with 95% CI across seeds.

    Cohesion is each run's final-year mean of ``cohesion``; mobilization is each run's peak
    of ``mobilization`` (the participation share during the call).

    Args:
        record: The experiment's results.

    Returns:
        The figure and the summary table (per scenario and metric).
    """
    names = ("cohesion", "mobilization")
    metrics = run_metrics(record.runs, names)
    order = record.scenarios
    summary = summarise(metrics)
    summary["scenario"] = pd.Categorical(summary["scenario"], order, ordered=True)
    summary = summary.sort_values(["metric", "scenario"]).reset_index(drop=True)
    summary["scenario"] = summary["scenario"].astype(str)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    for ax, metric in zip(fig.subplots(1, 2), names, strict=True):
        bar_panel(ax, summary, metric, order, points=metrics)
    return Drawing(fig, summary, record.caption())


#: Panels of the social_change time series: column -> axis label.
SERIES_PANELS: dict[str, str] = {
    "floating_members": "Floating members\n(share without a branch)",
    "floating_gap": "Floating gap\n(formal - effective coverage)",
    "cohesion": "Cohesion\n(mean member commitment)",
    "effective_coverage": "Effective coverage\n(share of masses reached)",
    "identification": "Identification\n(masses' mean)",
    "new_strata_recruit_share": "New strata and platform workers\n(share of recruits, last year)",
}


@figure("social_change_series")
def social_change_series(record: ExperimentRecord) -> Drawing:
    """Time series over the run, one line per policy package, with 95% CI bands over seeds.

    Args:
        record: The experiment's results.

    Returns:
        The figure and a summary table: final-year means per scenario with 95% CI.
    """
    runs = record.runs
    order = record.scenarios
    fig = Figure(figsize=(12, 6.8), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True).ravel()
    for ax, (column, ylabel) in zip(axes, SERIES_PANELS.items(), strict=True):
        band = series_interval(runs, column)
        for i, scenario in enumerate(order):
            part = band[band["scenario"] == scenario].sort_values("step")
            years = part["step"].to_numpy(float) / 52
            colour = "0.35" if scenario == "baseline" else f"C{i}"
            style = ("-", "--", "-.", ":")[i % 4]  # lines that coincide stay visible
            low, high = part["ci_low"], part["ci_high"]
            if column != "floating_gap":  # shares: a t-interval is cut at 0 for display
                low = np.maximum(low, 0.0)
            ax.plot(years, part["mean"], color=colour, linestyle=style, label=scenario)
            ax.fill_between(years, low, high, color=colour, alpha=0.2, linewidth=0)
        ax.set_ylabel(ylabel)
        ax.grid(True)
    for ax in axes[3:]:
        ax.set_xlabel("Years")
    axes[0].legend()
    metrics = run_metrics(runs, [c for c in SERIES_PANELS if c != "new_strata_recruit_share"])
    shift = record.value("model.platform_shift")
    caption = record.caption(
        detail=f"{shift:.0%} of stable-unit workers move to platforms each year"
    )
    return Drawing(fig, summarise(metrics), caption)
