"""Figures of the subject and fusion dimensions: the `escalation` and `fusion_modes` experiments.

Their sweeps give every condition a scenario of its own; each run's levers are read from the
config its result file recorded (:meth:`ExperimentRecord.levers`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from experiments.figures.lang import tr
from experiments.figures.metrics import SHARES, label, run_metrics
from experiments.figures.panels import (
    error_bars,
    keep_visible_span,
    line_panel,
    paired_by_group,
)
from experiments.figures.registry import Drawing, caption, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import clip_shares, paired_summary, summarise
from sim.params import ModelParams, PolicyParams

#: Assessment variants of the escalation experiment: (unified_table, simplify_downward) -> label.
ASSESSMENT_VARIANTS: dict[tuple[bool, bool], str] = {
    (False, False): "separate tables (default)",
    (True, False): "unified table",
    (False, True): "simplified downward",
    (True, True): "unified + simplified",
}
#: Fusion modes in the order of the paper's argument, with their labels.
FUSION_MODES: dict[str, str] = {
    "narrowed": "narrowed\n(paperwork)",
    "isolated": "isolated\n(two skins)",
    "integrated": "integrated",
    "generalized": "generalized\n(replaces business)",
}


def closest(values: np.ndarray, target: float) -> float:
    """The value nearest to ``target`` (a swept level to show a slice at)."""
    values = np.asarray(values, dtype=float)
    return float(values[np.argmin(np.abs(values - target))])


@figure("escalation_grid")
def escalation_grid(record: ExperimentRecord) -> Drawing:
    """Burden and cohesion over escalation, by hierarchy depth and by assessment variant.

    Columns, left to right: separate tables per department, one line per depth
    (``model.levels``), levels then differences; the model's default depth (or the swept depth
    closest to it), one line per assessment variant, levels then differences. A difference is
    the condition minus the lowest escalation of the same depth and variant, paired by seed.
    Each point is the mean over seeds of the final-year average with its 95% CI; lines are
    dodged sideways so that they do not hide each other.

    Args:
        record: The experiment's results.

    Returns:
        The drawing: levels per condition and metric, and the paired differences as headline.
    """
    levers = record.levers(
        {
            "policy.escalation": "escalation",
            "model.levels": "levels",
            "policy.unified_table": "unified_table",
            "policy.simplify_downward": "simplify_downward",
        }
    )
    metrics = run_metrics(record.runs, ("burden", "cohesion")).merge(
        levers, on=["scenario", "seed"]
    )
    metrics["variant"] = [
        ASSESSMENT_VARIANTS[(bool(u), bool(s))]
        for u, s in zip(metrics["unified_table"], metrics["simplify_downward"], strict=True)
    ]
    cond = ["escalation", "levels", "variant"]
    metrics = metrics.drop(columns=["scenario", "unified_table", "simplify_downward"])
    summary = clip_shares(summarise(metrics, by=cond), SHARES)
    lowest = metrics["escalation"].min()
    paired = paired_by_group(
        metrics, cond, ["levels", "variant"], lambda m: np.isclose(m["escalation"], lowest)
    )
    depths = sorted(metrics["levels"].unique())
    depth = int(closest(depths, ModelParams().levels))
    cmap = colormaps["viridis"]
    by_depth = {
        int(lv): {
            "label": f"{int(lv)} levels (branch depth {int(lv) - 1})",
            "color": cmap(i / max(1, len(depths) - 1) * 0.85),
        }
        for i, lv in enumerate(depths)
    }
    by_variant = {
        name: {"label": tr(name), "color": f"C{i}", "linestyle": "-" if i == 0 else "--"}
        for i, name in enumerate(ASSESSMENT_VARIANTS.values())
    }
    span = float(np.ptp(metrics["escalation"].to_numpy(float))) or 1.0
    dodge = 0.012 * span
    fig = Figure(figsize=(15, 6.5), layout="constrained")
    axes = fig.subplots(2, 4, sharex=True)
    separate = ASSESSMENT_VARIANTS[(False, False)]
    for row, metric in enumerate(("burden", "cohesion")):
        for col, (table, lines, by) in enumerate(
            (
                (summary[summary["variant"] == separate], by_depth, "levels"),
                (paired[paired["variant"] == separate], by_depth, "levels"),
                (summary[summary["levels"] == depth], by_variant, "variant"),
                (paired[paired["levels"] == depth], by_variant, "variant"),
            )
        ):
            ax = axes[row, col]
            line_panel(ax, table, "escalation", metric, lines, by, dodge=dodge)
            if col % 2:
                ax.axhline(0, color="0.35", linewidth=0.8)
                keep_visible_span(ax)
                ax.set_ylabel(
                    tr("difference from {ref}\n(paired by seed)", ref=f"escalation {lowest:g}")
                )
            else:
                ax.set_ylabel(label(metric))
    axes[0, 0].set_title(tr("Separate tables, by depth"))
    axes[0, 1].set_title(tr("Difference from {ref}", ref=f"escalation {lowest:g}"))
    axes[0, 2].set_title(tr("{depth} levels, by assessment variant", depth=depth))
    axes[0, 3].set_title(tr("Difference from {ref}", ref=f"escalation {lowest:g}"))
    for ax in axes[1]:
        ax.set_xlabel(tr("Escalation per layer (policy.escalation)"))
    axes[0, 0].legend(fontsize="x-small")
    axes[0, 2].legend(fontsize="x-small")
    text = caption(record, f"escalation {lowest:g} at the same depth and variant", "condition")
    return Drawing(fig, summary, text, paired)


def _mode_dots(ax: Axes, paired: pd.DataFrame, name: str, modes: list[str], effort: float) -> None:
    """Paired changes of one metric per mode, by traces and by outcomes, dodged side by side."""
    for k, (evaluation, colour, marker) in enumerate(
        (("traces", "0.45", "o"), ("outcomes", "0.05", "D"))
    ):
        rows = paired[(paired["metric"] == name) & (paired["evaluation"] == evaluation)]
        rows = rows.set_index("mode").reindex(modes)
        mean, err = error_bars(rows)
        ax.errorbar(
            np.arange(len(modes)) + (k - 0.5) * 0.25,
            mean,
            yerr=err,
            fmt=marker,
            color=colour,
            markersize=5,
            label=tr("evaluated by {evaluation}", evaluation=tr(evaluation)),
        )
    ax.axhline(0, color="black", linewidth=0.8)
    keep_visible_span(ax)
    ax.set_xticks(np.arange(len(modes)), [tr(FUSION_MODES[m]) for m in modes], fontsize="small")
    ax.set_xlim(-0.6, len(modes) - 0.4)
    ax.margins(y=0.15)
    ax.set_ylabel(tr("difference from {ref}\n(paired by seed)", ref="isolated"))
    ax.grid(True, axis="y")
    ax.set_title(
        f"{label(name).splitlines()[0]}: "
        + tr("Change from isolated (by traces), at effort {effort:g}", effort=effort)
    )


@figure("fusion_modes")
def fusion_modes(record: ExperimentRecord) -> Drawing:
    """Business performance and cohesion per fusion mode, and over integration effort.

    Top: per mode at the default effort (``policy.integration_effort``, or the swept effort
    closest to it), the change from isolated mode evaluated by traces (the baseline's two
    skins), paired by seed, with assessment by traces and by outcomes dodged side by side.
    Bottom, one small panel per mode and outcome: the mean over seeds against the integration
    effort, evaluated by traces (solid; the effort stays where it was set) and, for integrated
    mode, by outcomes (dashed); the dotted line marks the closed-form peak ``b1 / (2 b2)`` of
    the recorded parameters. All values are final-year averages with their 95% CI over seeds.

    Args:
        record: The experiment's results.

    Returns:
        The drawing: levels per condition and metric, and the paired changes at the top
        panels' effort as headline.
    """
    levers = record.levers(
        {
            "policy.fusion_mode": "mode",
            "policy.integration_effort": "effort",
            "policy.evaluation": "evaluation",
        }
    )
    names = ("business_performance", "cohesion")
    metrics = run_metrics(record.runs, names).merge(levers, on=["scenario", "seed"])
    metrics = metrics.drop(columns=["scenario"])
    cond = ["mode", "effort", "evaluation"]
    summary = clip_shares(summarise(metrics, by=cond), SHARES)
    bar_effort = closest(metrics["effort"].unique(), PolicyParams().integration_effort)
    modes = [m for m in FUSION_MODES if m in set(metrics["mode"])]
    at = metrics[np.isclose(metrics["effort"].astype(float), bar_effort)]
    reference = at[(at["mode"] == "isolated") & (at["evaluation"] == "traces")]
    paired = paired_summary(at, reference.drop(columns=cond), by=cond)
    fig = Figure(figsize=(12, 9), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.6])
    for ax, name in zip(top.subplots(1, 2), names, strict=True):
        _mode_dots(ax, paired, name, modes, bar_effort)
    top.axes[0].legend(loc="best", fontsize="small")
    peak = record.value("model.business_lift") / (2 * record.value("model.business_curvature"))
    efforts = metrics["effort"].to_numpy(float)
    dodge = 0.01 * (float(np.ptp(efforts)) or 1.0)
    grid = bottom.subplots(2, len(modes), sharex=True, sharey="row", squeeze=False)
    for row, name in enumerate(names):
        for col, mode in enumerate(modes):
            ax = grid[row, col]
            rows = summary[summary["mode"] == mode]
            lines = {
                "traces": {
                    "label": tr("evaluated by {evaluation}", evaluation=tr("traces")),
                    "color": f"C{list(FUSION_MODES).index(mode)}",
                },
                "outcomes": {
                    "label": tr("evaluated by {evaluation}", evaluation=tr("outcomes")),
                    "color": "0.15",
                    "linestyle": "--",
                    "marker": "D",
                },
            }
            line_panel(ax, rows, "effort", name, lines, "evaluation", dodge=dodge)
            if name == "business_performance":
                ax.axvline(peak, color="black", linestyle=":", linewidth=1)
                if col == 0:
                    ax.annotate(
                        f"closed-form peak b1/(2 b2) = {peak:.2f}",
                        (peak, 0.02),
                        xycoords=("data", "axes fraction"),
                        xytext=(4, 0),
                        textcoords="offset points",
                        fontsize="x-small",
                    )
                ax.set_title(tr(FUSION_MODES[mode]).replace("\n", " "))
            if col == 0:
                ax.set_ylabel(label(name), fontsize="small")
    bottom.supxlabel(tr("Integration effort B (policy.integration_effort)"), fontsize="medium")
    handles, labels = [], []
    for ax in grid.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    grid[0, -1].legend(handles, labels, loc="best", fontsize="x-small")
    text = caption(record, f"isolated by traces at effort {bar_effort:g}", "condition")
    return Drawing(fig, summary, text, paired)
