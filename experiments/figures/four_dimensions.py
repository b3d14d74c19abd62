"""The four-dimension factorial: effects with 95% CIs, synergy and the interaction plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments import factorial as fx
from experiments.figures.registry import Drawing, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import summarise

#: Marker colour of a term by its order (main effects, 2-, 3-, 4-way) and of the synergy.
ORDER_COLOURS = {1: "C0", 2: "C1", 3: "C2", 4: "C3", 0: "black"}


def _dots(ax, rows: pd.DataFrame, y: np.ndarray, colour: str) -> None:
    """Means with CI bars; filled when the interval excludes zero, hollow when it does not."""
    mean = rows["mean"].to_numpy(float)
    low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
    err = np.nan_to_num(np.vstack([mean - low, high - mean]))
    ax.errorbar(mean, y, xerr=err, fmt="none", ecolor=colour, elinewidth=1, capsize=2)
    clear = (low > 0) | (high < 0)
    ax.scatter(mean[clear], y[clear], color=colour, s=18, zorder=3)
    ax.scatter(mean[~clear], y[~clear], facecolor="white", edgecolor=colour, s=18, zorder=3)


def _label(term: str) -> str:
    """``SF`` -> ``S x F``; the synergy quantities stay as they are."""
    return " x ".join(term) if term.isupper() and term.isalpha() else term


@figure("four_dimensions")
def four_dimensions(record: ExperimentRecord) -> Drawing:
    """Top row: every main effect and interaction, and the synergy, per outcome, with 95% CIs.

    Bottom row, the interaction plot: for each dimension, the paired effect of switching it on
    with the other three off (left point) and with them on (right point); lines that are not
    flat show that a dimension does more (or less) in company.

    Args:
        record: The results of the ``four_dimensions`` experiment (cells named ``SF--``).

    Returns:
        The figure and a summary table with columns ``kind`` (``effect``, ``synergy``,
        ``conditional`` or ``cell``), ``term``, ``metric`` and the interval columns.
    """
    metrics = fx.run_outcomes(record.runs)
    effects = fx.factorial_effects(metrics)
    synergy = fx.synergy(metrics)
    conditional = fx.conditional_effects(metrics)
    outcomes = list(fx.OUTCOMES)

    fig = Figure(figsize=(13, 8.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.5, 1])
    axes = top.subplots(1, len(outcomes), sharey=True)
    labels = [_label(t) for t in fx.terms()] + ["whole", "sum of singles", "synergy"]
    y = -np.arange(len(labels), dtype=float)
    y[len(fx.terms()) :] -= 0.8  # a gap between the terms and the synergy block
    for ax, metric in zip(axes, outcomes, strict=True):
        part = effects[effects["metric"] == metric].set_index("term").reindex(fx.terms())
        for order in (1, 2, 3, 4):
            mask = (part["order"] == order).to_numpy()
            _dots(ax, part[mask], y[: len(fx.terms())][mask], ORDER_COLOURS[order])
        syn = synergy[synergy["metric"] == metric].set_index("term")
        syn = syn.reindex(["whole", "sum of singles", "synergy"])
        _dots(ax, syn, y[len(fx.terms()) :], ORDER_COLOURS[0])
        ax.axvline(0, color="0.5", linewidth=0.8)
        ax.set_title(fx.OUTCOMES[metric][2].replace(" (", "\n("), fontsize="small")
        ax.set_xlabel("Effect (mean on - mean off)")
        ax.grid(True, axis="x")
    axes[0].set_yticks(y, labels)

    lower = bottom.subplots(1, len(outcomes))
    x = np.array([0.0, 1.0])
    for ax, metric in zip(lower, outcomes, strict=True):
        part = conditional[conditional["metric"] == metric]
        for i, d in enumerate(fx.DIMENSIONS):
            rows = part[part["dimension"] == d].set_index("context")
            rows = rows.reindex(["alone", "with others"])
            mean = rows["mean"].to_numpy(float)
            err = np.nan_to_num(
                np.vstack([mean - rows["ci_low"].to_numpy(float), rows["ci_high"] - mean])
            )
            shift = (i - 1.5) * 0.04  # dodge: the four lines' bars do not overlap
            ax.errorbar(
                x + shift,
                mean,
                yerr=err,
                marker="os^D"[i],
                color=f"C{i}",
                capsize=2,
                label=f"{d}: {fx.DIMENSION_NAMES[d]}",
            )
        ax.axhline(0, color="0.5", linewidth=0.8)
        ax.set_xticks(x, ["others off", "others on"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylabel(f"Effect of switching on\n({metric.replace('_', ' ')})")
        ax.grid(True, axis="y")
    lower[0].legend(fontsize="x-small")

    cell_means = summarise(metrics)
    cell_means = cell_means.rename(columns={"scenario": "term"}).assign(kind="cell", order=np.nan)
    summary = pd.concat(
        [
            effects.assign(kind="effect"),
            synergy.assign(kind="synergy"),
            conditional.rename(columns={"dimension": "term"}).assign(kind="conditional"),
            cell_means,
        ],
        ignore_index=True,
    )
    first = ["kind", "term", "context", "order", "metric"]
    summary = summary[first + [c for c in summary.columns if c not in first]]
    start = record.value("model.crisis_start")
    weeks = record.value("model.crisis_weeks")
    caption = record.caption(
        per="cell",
        detail=f"call in weeks {start}-{start + weeks - 1}; filled: CI excludes 0",
        shown="effects and {ci}",
    )
    return Drawing(fig, summary, caption)
