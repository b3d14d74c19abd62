"""Figures comparing policy packages (scenarios): levels and differences per scenario, and time
series as small multiples."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from experiments.figures.lang import tr
from experiments.figures.metrics import SHARES, run_metrics
from experiments.figures.panels import (
    colours,
    difference_panel,
    dot_panel,
    keep_visible_span,
    paired_differences,
    reference_of,
)
from experiments.figures.registry import Drawing, caption, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import clip_shares, paired_summary, series_interval, summarise


def _ordered(summary: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    summary["scenario"] = pd.Categorical(summary["scenario"], order, ordered=True)
    summary = summary.sort_values(["metric", "scenario"]).reset_index(drop=True)
    summary["scenario"] = summary["scenario"].astype(str)
    return summary


def scenario_comparison(record: ExperimentRecord, metrics: pd.DataFrame, names, order):
    """Levels and seed-paired differences from the reference of per-run metrics by scenario.

    Returns:
        (levels with shares' intervals cut to [0, 1], paired differences, per-seed differences,
        the reference scenario).
    """
    ref = reference_of(order)
    summary = _ordered(clip_shares(summarise(metrics), SHARES), order)
    values = metrics[["scenario", "seed", *names]]
    reference = values[values["scenario"] == ref].drop(columns=["scenario"])
    paired = values[values["scenario"] != ref]
    paired = _ordered(paired_summary(paired, reference), order) if len(paired) else None
    diffs = paired_differences(values, ["scenario"], lambda m: m["scenario"] == ref)
    return summary, paired, diffs, ref


@figure("scenario_bars")
def scenario_bars(record: ExperimentRecord) -> Drawing:
    """Cohesion and mobilization per scenario: levels, and differences from the reference.

    Left of each pair: the mean per scenario with its 95% CI across seeds and each seed's value
    beside it, on an axis fitted to the data. Right: each scenario minus the reference
    (``baseline`` if present), paired by seed, with its 95% CI. Cohesion is each run's
    final-year mean of ``cohesion``; mobilization is each run's peak participation share
    during the call. (The name is historical: the levels are dots, not bars.)

    Args:
        record: The experiment's results.

    Returns:
        The drawing: levels per scenario and metric, and the paired differences as headline.
    """
    names = ("cohesion", "mobilization")
    metrics = run_metrics(record.runs, names)
    order = record.scenarios
    summary, paired, diffs, ref = scenario_comparison(record, metrics, names, order)
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, 4, width_ratios=[len(order), max(2, len(order) - 1)] * 2)
    for k, metric in enumerate(names):
        dot_panel(axes[2 * k], summary, metric, order, points=metrics)
        if paired is not None:
            difference_panel(axes[2 * k + 1], paired, metric, order, ref, diffs)
        else:
            axes[2 * k + 1].set_axis_off()
    return Drawing(fig, summary, caption(record, ref if paired is not None else None), paired)


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
    """Time series over the run as small multiples: levels, then each package's difference.

    One row per outcome. First column: the mean of every scenario over seeds (lines only, so
    that they do not hide each other). Each further column: one package minus the reference,
    paired by seed at every week, with its 95% CI band.

    Args:
        record: The experiment's results.

    Returns:
        The drawing: final-year levels per scenario with 95% CI, and their paired differences
        from the reference as headline.
    """
    runs = record.runs
    order = record.scenarios
    ref = reference_of(order)
    others = [s for s in order if s != ref]
    palette = colours(order)
    fig = Figure(figsize=(3.2 * (1 + len(others)), 1.9 * len(SERIES_PANELS)), layout="constrained")
    axes = fig.subplots(len(SERIES_PANELS), 1 + len(others), sharex=True, squeeze=False)
    reference = runs[runs["scenario"] == ref].set_index(["seed", "step"])
    for row, (column, ylabel) in enumerate(SERIES_PANELS.items()):
        band = series_interval(runs, column)
        ax = axes[row, 0]
        for i, scenario in enumerate(order):
            part = band[band["scenario"] == scenario].sort_values("step")
            style = ("-", "--", "-.", ":")[i % 4]
            ax.plot(
                part["step"] / 52,
                part["mean"],
                color=palette[scenario],
                linestyle=style,
                label=scenario,
            )
        ax.set_ylabel(tr(ylabel), fontsize="small")
        ax.grid(True)
        for col, scenario in enumerate(others, start=1):
            ax = axes[row, col]
            own = runs[runs["scenario"] == scenario].set_index(["seed", "step"])
            diff = (own[column] - reference[column]).dropna().reset_index()
            diff["scenario"] = scenario
            dband = series_interval(diff, column).sort_values("step")
            years = dband["step"] / 52
            ax.axhline(0, color="0.35", linewidth=0.8)
            ax.plot(years, dband["mean"], color=palette[scenario])
            ax.fill_between(
                years,
                dband["ci_low"],
                dband["ci_high"],
                color=palette[scenario],
                alpha=0.25,
                linewidth=0,
            )
            ax.grid(True)
            keep_visible_span(ax)
            if row == 0:
                ax.set_title(tr("{scenario} - {ref}", scenario=scenario, ref=ref))
    axes[0, 0].set_title(tr("Levels, all scenarios"))
    axes[0, 0].legend(fontsize="x-small")
    for ax in axes[-1]:
        ax.set_xlabel(tr("Years"))
    names = [c for c in SERIES_PANELS if c != "new_strata_recruit_share"]
    metrics = run_metrics(runs, names)
    summary, paired, _, _ = scenario_comparison(record, metrics, names, order)
    shift = record.value("model.platform_shift")
    text = caption(
        record,
        ref if paired is not None else None,
        detail=f"{shift:.0%} of stable-unit workers move to platforms each year",
    )
    return Drawing(fig, summary, text, paired)
