"""Figures of the foundation and openness dimensions: `coverage_embedding` and `openness`.

Both sweeps give every condition a scenario of its own; each run's levers are read from the
config its result file recorded (:meth:`ExperimentRecord.levers`).
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from experiments.figures.lang import tr
from experiments.figures.metrics import SHARES, label, run_metrics
from experiments.figures.panels import heatmap, keep_visible_span, line_panel, paired_by_group
from experiments.figures.registry import Drawing, caption, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import clip_shares, summarise

#: Heatmap panels: metric -> (title, colour map).
HEATMAPS: dict[str, tuple[str, str]] = {
    "cohesion": ("Cohesion (mean member commitment, final year)", "viridis"),
    "mobilization": ("Mobilization (peak share of people active in the call)", "viridis"),
    "floating_gap": ("Floating gap (formal - effective coverage, final year)", "magma_r"),
}


@figure("coverage_embedding_heatmaps")
def coverage_embedding_heatmaps(record: ExperimentRecord) -> Drawing:
    """Heatmaps of cohesion, mobilization and the floating gap over coverage x embedding.

    Top row: levels; each cell shows the mean over seeds and the half-width of its 95% CI.
    Bottom row: each cell minus the reference cell (lowest coverage and embedding), paired by
    seed, on a colour scale centred on 0, with the half-width of its paired 95% CI. Cohesion
    and the floating gap are final-year means, mobilization the peak participation in the call.

    Args:
        record: The experiment's results.

    Returns:
        The drawing: levels per condition and metric, and the paired differences as headline.
    """
    levers = record.levers({"policy.coverage": "coverage", "policy.embedding": "embedding"})
    metrics = run_metrics(record.runs, tuple(HEATMAPS)).merge(levers, on=["scenario", "seed"])
    metrics = metrics.drop(columns=["scenario"])
    cond = ["coverage", "embedding"]
    summary = clip_shares(summarise(metrics, by=cond), SHARES)
    c0, e0 = metrics["coverage"].min(), metrics["embedding"].min()
    ref = f"coverage {c0:g}, embedding {e0:g}"
    paired = paired_by_group(
        metrics,
        cond,
        [],
        lambda m: np.isclose(m["coverage"], c0) & np.isclose(m["embedding"], e0),
    )
    fig = Figure(figsize=(13, 8), layout="constrained")
    axes = fig.subplots(2, 3)
    for col, (name, (title, cmap)) in enumerate(HEATMAPS.items()):
        for row, table in enumerate((summary, paired)):
            part = table[table["metric"] == name]
            means = part.pivot(index="embedding", columns="coverage", values="mean").sort_index()
            half = part.pivot(index="embedding", columns="coverage", values="half_width")
            short = title.split(" (")[0]
            heatmap(
                axes[row, col],
                means,
                half.reindex_like(means),
                tr(title) if row == 0 else tr("Difference from {ref}", ref=ref),
                cmap if row == 0 else "RdBu_r",
                tr("Coverage (policy.coverage)"),
                colourbar=tr(short)
                if row == 0
                else f"{tr(short)}: " + tr("{scenario} - {ref}", scenario="cell", ref=ref),
                diverging=row == 1,
            )
    for ax in axes[:, 0]:
        ax.set_ylabel(tr("Embedding (policy.embedding: share dual-registered)"))
    text = caption(
        record,
        ref,
        per="cell",
        shown="mean ± half-width of the {ci}",
        detail="platform and online coverage follow policy.coverage",
    )
    return Drawing(fig, summary, text, paired)


@figure("openness_lines")
def openness_lines(record: ExperimentRecord) -> Drawing:
    """Mobilization, identification, effective coverage and new-strata recruits over openness.

    One row per outcome; left, the levels with one line per speed of social change
    (``model.platform_shift``), dodged sideways; right, the difference from the lowest
    openness at the same speed, paired by seed. Points are means over seeds with 95% CI bars.

    Args:
        record: The experiment's results.

    Returns:
        The drawing: levels per condition and metric, and the paired differences as headline.
    """
    levers = record.levers(
        {"policy.openness": "openness", "model.platform_shift": "platform_shift"}
    )
    names = ("mobilization", "identification", "effective_coverage", "new_strata_recruit_share")
    metrics = run_metrics(record.runs, names).merge(levers, on=["scenario", "seed"])
    metrics = metrics.drop(columns=["scenario"])
    cond = ["openness", "platform_shift"]
    summary = clip_shares(summarise(metrics, by=cond), SHARES)
    lowest = metrics["openness"].min()
    paired = paired_by_group(
        metrics, cond, ["platform_shift"], lambda m: np.isclose(m["openness"], lowest)
    )
    speeds = sorted(metrics["platform_shift"].unique())
    cmap = colormaps["plasma"]
    lines = {
        s: {
            "label": tr("no social change")
            if s == 0
            else tr("{share:.0%} of stable workers a year", share=s),
            "color": cmap(i / max(1, len(speeds) - 1) * 0.8),
        }
        for i, s in enumerate(speeds)
    }
    dodge = 0.012 * (float(np.ptp(metrics["openness"].to_numpy(float))) or 1.0)
    fig = Figure(figsize=(10, 11), layout="constrained")
    axes = fig.subplots(len(names), 2, sharex=True)
    ref = f"openness {lowest:g}"
    for row, name in enumerate(names):
        line_panel(axes[row, 0], summary, "openness", name, lines, "platform_shift", dodge)
        axes[row, 0].set_ylabel(label(name))
        line_panel(axes[row, 1], paired, "openness", name, lines, "platform_shift", dodge)
        axes[row, 1].axhline(0, color="0.35", linewidth=0.8)
        keep_visible_span(axes[row, 1])
        axes[row, 1].set_ylabel(tr("difference from {ref}\n(paired by seed)", ref=ref))
    axes[0, 0].set_title(tr("Level"))
    axes[0, 1].set_title(tr("Difference from {ref}", ref=ref))
    for ax in axes[-1]:
        ax.set_xlabel(tr("Openness (policy.openness)"))
    axes[0, 0].legend(title=tr("Move to platforms"), fontsize="x-small")
    text = caption(record, f"{ref} at the same speed of social change", "condition")
    return Drawing(fig, summary, text, paired)
