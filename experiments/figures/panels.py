"""Drawing blocks shared by the figures: bars, lines and heatmaps of summarised metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from experiments.figures.metrics import label


def error_bars(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Means and ``yerr`` (below, above) of summary rows; missing intervals draw as none."""
    mean = rows["mean"].to_numpy(float)
    err = np.vstack([mean - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - mean])
    return mean, np.nan_to_num(err)


def bar_panel(
    ax: Axes,
    summary: pd.DataFrame,
    metric: str,
    order: Sequence[str],
    points: pd.DataFrame | None = None,
    ylabel: str | None = None,
) -> None:
    """Bars of a metric's mean per scenario with confidence intervals (and seeds as dots).

    Args:
        ax: Axes to draw on.
        summary: Output of :func:`experiments.stats.summarise` by scenario.
        metric: Which metric to draw.
        order: Scenarios, left to right.
        points: Per-run metrics (output of :func:`~experiments.figures.metrics.run_metrics`)
            to overlay, or None.
        ylabel: Axis label (default: the metric's label).
    """
    part = summary[summary["metric"] == metric].set_index("scenario").reindex(order)
    x = np.arange(len(order))
    mean, err = error_bars(part)
    colours = ["0.6" if s == "baseline" else f"C{i}" for i, s in enumerate(order)]
    ax.bar(
        x,
        mean,
        yerr=err,
        color=colours,
        capsize=4,
        width=0.65,
        edgecolor="black",
        linewidth=0.6,
        error_kw={"linewidth": 1},
    )
    if points is not None:
        jitter = np.random.default_rng(0)
        for i, scenario in enumerate(order):
            y = points.loc[points["scenario"] == scenario, metric].to_numpy(float)
            ax.scatter(
                i + jitter.uniform(-0.15, 0.15, y.size),
                y,
                s=10,
                color="black",
                alpha=0.6,
                zorder=3,
                linewidths=0,
            )
    ax.set_xticks(x, order, rotation=20)
    ax.set_ylabel(ylabel or label(metric))


def line_panel(
    ax: Axes,
    summary: pd.DataFrame,
    x: str,
    metric: str,
    lines: dict[object, dict[str, object]],
    by: str,
) -> None:
    """Mean of a metric over ``x``, one line per value of ``by``, with confidence-interval bars.

    Args:
        ax: Axes to draw on.
        summary: Output of :func:`experiments.stats.summarise` with ``x`` and ``by`` columns.
        x: Column on the horizontal axis.
        metric: Which metric to draw.
        lines: Value of ``by`` -> matplotlib keyword arguments (``label`` among them).
        by: Column that tells the lines apart.
    """
    part = summary[summary["metric"] == metric]
    for value, style in lines.items():
        rows = part[part[by] == value].sort_values(x)
        if rows.empty:
            continue
        mean, err = error_bars(rows)
        ax.errorbar(rows[x].to_numpy(float), mean, yerr=err, **({"marker": "o"} | style))
    ax.grid(True)


def heatmap(
    ax: Axes, table: pd.DataFrame, half: pd.DataFrame, title: str, cmap: str, xlabel: str
) -> None:
    """One annotated heatmap (rows bottom up): each cell shows its mean and CI half-width.

    Args:
        ax: Axes to draw on.
        table: Means; index = rows (y), columns = x.
        half: CI half-widths, shaped like ``table`` (NaN: none shown).
        title: Panel title, also the colourbar's label.
        cmap: Colour map; ``magma_r`` runs dark for high values, the others for low ones.
        xlabel: Horizontal axis label.
    """
    values = table.to_numpy(float)
    halves = half.to_numpy(float)
    image = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
    ax.spines[["top", "right"]].set_visible(True)  # an image is framed on all sides
    ax.figure.colorbar(image, ax=ax, shrink=0.85, label=title.split(" (")[0])
    lo, hi = np.nanmin(values), np.nanmax(values)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v, h = values[i, j], halves[i, j]
            share = (v - lo) / (hi - lo + 1e-12)
            dark = share > 0.45 if cmap == "magma_r" else share < 0.55
            ax.text(
                j,
                i,
                f"{v:.3f}" if np.isnan(h) else f"{v:.3f}\n±{h:.3f}",
                ha="center",
                va="center",
                fontsize="x-small",
                color="white" if dark else "black",
            )
    ax.set_xticks(range(table.shape[1]), [f"{c:g}" for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [f"{r:g}" for r in table.index])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
