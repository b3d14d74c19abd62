"""Figures of the foundation and openness dimensions: `coverage_embedding` and `openness`.

Both sweeps give every condition a scenario of its own; each run's levers are read from the
config its result file recorded (:meth:`ExperimentRecord.levers`).
"""

from __future__ import annotations

from matplotlib import colormaps
from matplotlib.figure import Figure

from experiments.figures.metrics import label, run_metrics
from experiments.figures.panels import heatmap, line_panel
from experiments.figures.registry import Drawing, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import summarise

#: Heatmap panels: metric -> (title, colour map).
HEATMAPS: dict[str, tuple[str, str]] = {
    "cohesion": ("Cohesion (mean member commitment, final year)", "viridis"),
    "mobilization": ("Mobilization (peak share of people active in the call)", "viridis"),
    "floating_gap": ("Floating gap (formal - effective coverage, final year)", "magma_r"),
}


@figure("coverage_embedding_heatmaps")
def coverage_embedding_heatmaps(record: ExperimentRecord) -> Drawing:
    """Heatmaps of cohesion, mobilization and the floating gap over coverage x embedding.

    Each cell shows the mean over seeds and the half-width of its 95% CI. Cohesion and the
    floating gap are final-year means, mobilization the peak participation in the call.

    Args:
        record: The experiment's results.

    Returns:
        The figure and the summary table (per condition and metric).
    """
    levers = record.levers({"policy.coverage": "coverage", "policy.embedding": "embedding"})
    metrics = run_metrics(record.runs, tuple(HEATMAPS)).merge(levers, on=["scenario", "seed"])
    summary = summarise(metrics.drop(columns=["scenario"]), by=["coverage", "embedding"])
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    for ax, (name, (title, cmap)) in zip(fig.subplots(1, 3), HEATMAPS.items(), strict=True):
        part = summary[summary["metric"] == name]
        table = part.pivot(index="embedding", columns="coverage", values="mean").sort_index()
        half = part.pivot(index="embedding", columns="coverage", values="half_width")
        heatmap(ax, table, half.reindex_like(table), title, cmap, "Coverage (policy.coverage)")
    fig.axes[0].set_ylabel("Embedding (policy.embedding: share dual-registered)")
    caption = record.caption(
        per="cell",
        shown="mean ± half-width of the {ci}",
        detail="platform and online coverage follow policy.coverage",
    )
    return Drawing(fig, summary, caption)


@figure("openness_lines")
def openness_lines(record: ExperimentRecord) -> Drawing:
    """Mobilization, identification, effective coverage and new-strata recruits over openness.

    One line per speed of social change (``model.platform_shift``); points are means over seeds
    with 95% CI bars.

    Args:
        record: The experiment's results.

    Returns:
        The figure and the summary table (per condition and metric).
    """
    levers = record.levers(
        {"policy.openness": "openness", "model.platform_shift": "platform_shift"}
    )
    names = ("mobilization", "identification", "effective_coverage", "new_strata_recruit_share")
    metrics = run_metrics(record.runs, names).merge(levers, on=["scenario", "seed"])
    summary = summarise(metrics.drop(columns=["scenario"]), by=["openness", "platform_shift"])
    speeds = sorted(metrics["platform_shift"].unique())
    cmap = colormaps["plasma"]
    lines = {
        s: {
            "label": "no social change" if s == 0 else f"{s:.0%} of stable workers a year",
            "color": cmap(i / max(1, len(speeds) - 1) * 0.8),
        }
        for i, s in enumerate(speeds)
    }
    fig = Figure(figsize=(10, 7), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    for ax, name in zip(axes, names, strict=True):
        line_panel(ax, summary, "openness", name, lines, "platform_shift")
        ax.set_ylabel(label(name))
    for ax in axes[2:]:
        ax.set_xlabel("Openness (policy.openness; its four sub-levers follow it)")
    axes[0].legend(title="Move to platforms")
    return Drawing(fig, summary, record.caption(per="condition"))
