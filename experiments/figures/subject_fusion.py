"""Figures of the subject and fusion dimensions: the `escalation` and `fusion_modes` experiments.

Their sweeps give every condition a scenario of its own; each run's levers are read from the
config its result file recorded (:meth:`ExperimentRecord.levers`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from experiments.figures.metrics import label, run_metrics
from experiments.figures.panels import error_bars, line_panel
from experiments.figures.registry import Drawing, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import paired_summary, summarise
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
    """Burden and cohesion over escalation: by hierarchy depth, and by assessment variant.

    Left: separate tables per department, one line per depth (``model.levels``). Right: the
    model's default depth (or the swept depth closest to it), one line per assessment variant
    (unified table, simplified downward). Each point is the mean over seeds of the final-year
    average, with its 95% CI.

    Args:
        record: The experiment's results.

    Returns:
        The figure and the summary table (per condition and metric).
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
    summary = summarise(
        metrics.drop(columns=["scenario", "unified_table", "simplify_downward"]), by=cond
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
        name: {"label": name, "color": f"C{i}", "linestyle": "-" if i == 0 else "--"}
        for i, name in enumerate(ASSESSMENT_VARIANTS.values())
    }
    fig = Figure(figsize=(10, 7), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True, sharey="row")
    separate = summary[summary["variant"] == ASSESSMENT_VARIANTS[(False, False)]]
    for row, metric in enumerate(("burden", "cohesion")):
        line_panel(axes[row, 0], separate, "escalation", metric, by_depth, "levels")
        at_depth = summary[summary["levels"] == depth]
        line_panel(axes[row, 1], at_depth, "escalation", metric, by_variant, "variant")
        axes[row, 0].set_ylabel(label(metric))
    axes[0, 0].set_ylim(0, 1)  # burden is a share
    axes[0, 0].set_title("Separate tables per department, by hierarchy depth")
    axes[0, 1].set_title(f"{depth} levels, by assessment variant")
    for ax in axes[1]:
        ax.set_xlabel("Escalation per layer (policy.escalation)")
    axes[0, 0].legend()
    axes[0, 1].legend()
    return Drawing(fig, summary, record.caption(per="condition"))


def _mode_bars(ax, paired: pd.DataFrame, name: str, modes: list[str], effort: float) -> None:
    """Paired changes of one metric per mode, evaluated by traces and by outcomes side by side."""
    width = 0.38
    part = paired[paired["metric"] == f"{name}_vs_isolated"]
    for k, (evaluation, colour) in enumerate((("traces", "0.65"), ("outcomes", "C2"))):
        rows = part[part["evaluation"] == evaluation].set_index("mode").reindex(modes)
        mean, err = error_bars(rows)
        ax.bar(
            np.arange(len(modes)) + (k - 0.5) * width,
            mean,
            width=width,
            yerr=err,
            color=colour,
            edgecolor="black",
            linewidth=0.6,
            label=f"evaluated by {evaluation}",
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(modes)), [FUSION_MODES[m] for m in modes], fontsize="small")
    ax.set_ylabel(f"Change in {label(name)[0].lower()}{label(name)[1:]}")
    ax.grid(True, axis="y")
    ax.set_title(f"Change from isolated by traces, at effort {effort:g} (paired seeds)")


@figure("fusion_modes")
def fusion_modes(record: ExperimentRecord) -> Drawing:
    """Business performance and cohesion per fusion mode, and over integration effort.

    Top: per mode at the default effort (``policy.integration_effort``, or the swept effort
    closest to it), the change from isolated mode evaluated by traces (the baseline's two
    skins), paired by seed, with assessment by traces and by outcomes side by side. Bottom: the
    mean over seeds against the integration effort, one line per mode (evaluated by traces, so
    the effort stays where it was set), and integrated mode evaluated by outcomes dashed; the
    dotted line marks the closed-form peak ``b1 / (2 b2)`` of the recorded parameters. All
    values are final-year averages with their 95% CI over seeds.

    Args:
        record: The experiment's results.

    Returns:
        The figure and the summary table: per condition and metric, plus the paired changes
        (metrics ``<metric>_vs_isolated``) at the bar effort.
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
    summary = summarise(metrics, by=cond)
    bar_effort = closest(metrics["effort"].unique(), PolicyParams().integration_effort)
    modes = [m for m in FUSION_MODES if m in set(metrics["mode"])]
    at = metrics[np.isclose(metrics["effort"].astype(float), bar_effort)]
    reference = at[(at["mode"] == "isolated") & (at["evaluation"] == "traces")]
    paired = paired_summary(at, reference, by=cond)
    paired["metric"] = paired["metric"] + "_vs_isolated"
    fig = Figure(figsize=(10, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    for col, name in enumerate(names):
        _mode_bars(axes[0, col], paired, name, modes, bar_effort)
    axes[0, 0].legend(loc="lower left")
    lines: dict[object, dict[str, object]] = {
        m: {"label": FUSION_MODES[m].replace("\n", " "), "color": f"C{i}"}
        for i, m in enumerate(FUSION_MODES)
    }
    # isolated and generalized spend the same hours, so their cohesion lines coincide: draw
    # isolated wide and pale underneath so that it stays visible
    lines["isolated"] |= {"linewidth": 4, "alpha": 0.5, "zorder": 1}
    learned_style = {
        "integrated": {
            "label": "integrated, evaluated by outcomes",
            "color": lines["integrated"]["color"],
            "linestyle": "--",
            "alpha": 0.8,
        }
    }
    peak = record.value("model.business_lift") / (2 * record.value("model.business_curvature"))
    for col, name in enumerate(names):
        ax = axes[1, col]
        traces = summary[summary["evaluation"] == "traces"]
        line_panel(ax, traces, "effort", name, lines, "mode")
        learned = summary[(summary["evaluation"] == "outcomes") & (summary["mode"] == "integrated")]
        line_panel(ax, learned, "effort", name, learned_style, "mode")
        if name == "business_performance":
            ax.axvline(peak, color="black", linestyle=":", linewidth=1)
            ax.annotate(
                f"closed-form peak b1/(2 b2) = {peak:.2f}",
                (peak, 0.02),
                xycoords=("data", "axes fraction"),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize="small",
            )
        if name == "cohesion":
            ax.annotate(
                "isolated and generalized spend the same hours:\nsame cohesion (wide"
                " orange under red)",
                (0.02, 0.02),
                xycoords="axes fraction",
                fontsize="small",
            )
        ax.set_xlabel("Integration effort B (policy.integration_effort)")
        ax.set_ylabel(label(name))
        ax.set_title("Over effort (solid: by traces, effort stays as set)")
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    return Drawing(
        fig, pd.concat([summary, paired], ignore_index=True), record.caption(per="condition")
    )
