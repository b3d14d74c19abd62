"""Drawing blocks shared by the figures: dot plots of levels and of paired differences, dodged
lines, and heatmaps, all with labelled intervals.

Levels are drawn as a point and its interval with the seeds beside it, on an axis fitted to
the data (bars from 0 would hide differences of 0.01); differences from the reference are
drawn beside them with a zero line. Lines of several conditions over one lever are dodged
sideways so that coinciding intervals stay visible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm

from experiments.figures.lang import tr
from experiments.figures.metrics import label
from experiments.stats import paired_summary

#: Colour of the reference condition.
REFERENCE_COLOUR = "0.35"


def reference_of(order: Sequence[str]) -> str:
    """The reference scenario: ``baseline`` if present, else the first in the order."""
    return "baseline" if "baseline" in order else order[0]


def colours(order: Sequence[str]) -> dict[str, object]:
    """One colour per scenario; the reference grey."""
    ref = reference_of(order)
    return {s: REFERENCE_COLOUR if s == ref else f"C{i}" for i, s in enumerate(order)}


def error_bars(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Means and ``yerr`` (below, above) of summary rows; missing intervals draw as none."""
    mean = rows["mean"].to_numpy(float)
    err = np.vstack([mean - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - mean])
    return mean, np.nan_to_num(err)


def _seed_offsets(n: int, centre: float = 0.22, spread: float = 0.12) -> np.ndarray:
    """Offsets of ``n`` seed points beside their interval, evenly spread (no random jitter)."""
    if n <= 1:
        return np.full(n, centre)
    return centre + np.linspace(-spread / 2, spread / 2, n)


def _dots(
    ax,
    part: pd.DataFrame,
    names: list[str],
    palette: dict,
    metric: str,
    points: pd.DataFrame | None,
    marker: str,
    size: float,
) -> None:
    """One dot with its interval per scenario (rows of ``part`` in ``names`` order), each run's
    value beside it when ``points`` is given; scenario names on the x axis."""
    mean, err = error_bars(part)
    for i, scenario in enumerate(names):
        ax.errorbar(
            i, mean[i], yerr=err[:, i : i + 1], fmt=marker, color=palette[scenario],
            markersize=size,
        )  # fmt: skip
        if points is not None:
            values = points.loc[points["scenario"] == scenario, metric].to_numpy(float)
            _seed_points(ax, i, values, palette[scenario])
    ax.set_xticks(np.arange(len(names)), names, rotation=20)
    ax.set_xlim(-0.5, len(names) - 0.3)
    ax.margins(y=0.15)


def _seed_points(ax: Axes, x: float, values: np.ndarray, colour: object) -> None:
    values = np.sort(values[~np.isnan(values)])
    ax.scatter(
        x + _seed_offsets(values.size),
        values,
        s=9,
        color=colour,
        alpha=0.55,
        linewidths=0,
        zorder=2,
        label=None,
    )


def dot_panel(
    ax: Axes,
    summary: pd.DataFrame,
    metric: str,
    order: Sequence[str],
    points: pd.DataFrame | None = None,
    ylabel: str | None = None,
) -> None:
    """A metric's mean per scenario with its interval, and each seed's value beside it.

    Args:
        ax: Axes to draw on.
        summary: Output of :func:`experiments.stats.summarise` by scenario.
        metric: Which metric to draw.
        order: Scenarios, left to right.
        points: Per-run metrics (``scenario`` and the metric) to show beside, or None.
        ylabel: Axis label (default: the metric's label).
    """
    part = summary[summary["metric"] == metric].set_index("scenario").reindex(order)
    _dots(ax, part, order, colours(order), metric, points, marker="o", size=5)
    ax.grid(True, axis="y")
    ax.set_ylabel(ylabel or label(metric))
    ax.set_title(tr("Level"))


#: Smallest vertical span of a difference panel: a difference that is exactly 0 for every
#: seed would otherwise be drawn on an axis of rounding noise (1e-15).
MIN_DIFFERENCE_SPAN = 0.002


def keep_visible_span(ax: Axes, minimum: float = MIN_DIFFERENCE_SPAN) -> None:
    """Widen a difference axis whose data span less than ``minimum``, around their middle."""
    low, high = ax.get_ylim()
    if high - low < minimum:
        middle = (low + high) / 2
        ax.set_ylim(middle - minimum / 2, middle + minimum / 2)


def paired_differences(
    metrics: pd.DataFrame, by: Sequence[str], is_reference: Callable[[pd.DataFrame], pd.Series]
) -> pd.DataFrame:
    """Per-seed differences of every run from the reference run of its seed.

    Args:
        metrics: One row per run: the ``by`` columns, ``seed`` and the metrics.
        by: Columns naming a condition.
        is_reference: Rows of ``metrics`` that are the reference.

    Returns:
        The same rows with each metric replaced by its difference from the reference of the
        seed (NaN where the seed has no reference run).
    """
    values = [c for c in metrics.columns if c not in (*by, "seed")]
    ref = metrics[is_reference(metrics)].set_index("seed")[values]
    out = metrics.copy()
    out[values] = metrics[values].to_numpy(float) - ref.reindex(metrics["seed"]).to_numpy(float)
    return out


def difference_panel(
    ax: Axes,
    paired: pd.DataFrame,
    metric: str,
    order: Sequence[str],
    reference: str,
    diffs: pd.DataFrame | None = None,
) -> None:
    """Each scenario's paired difference from the reference with its interval (and per seed).

    Args:
        ax: Axes to draw on.
        paired: Output of :func:`experiments.stats.paired_summary` by scenario.
        metric: Which metric to draw.
        order: Scenarios (the reference is left out).
        reference: The reference scenario.
        diffs: Per-seed differences (:func:`paired_differences`) to show beside, or None.
    """
    others = [s for s in order if s != reference]
    part = paired[paired["metric"] == metric].set_index("scenario").reindex(others)
    ax.axhline(0, color=REFERENCE_COLOUR, linewidth=0.8, zorder=0)
    _dots(ax, part, others, colours(order), metric, diffs, marker="D", size=4)
    keep_visible_span(ax)
    ax.grid(True, axis="y")
    ax.set_ylabel(tr("difference from {ref}\n(paired by seed)", ref=reference))
    ax.set_title(tr("Difference from {ref}", ref=reference))


def line_panel(
    ax: Axes,
    summary: pd.DataFrame,
    x: str,
    metric: str,
    lines: dict[object, dict[str, object]],
    by: str,
    dodge: float = 0.0,
) -> None:
    """Mean of a metric over ``x``, one line per value of ``by``, with interval bars.

    Args:
        ax: Axes to draw on.
        summary: Output of :func:`experiments.stats.summarise` with ``x`` and ``by`` columns.
        x: Column on the horizontal axis.
        metric: Which metric to draw.
        lines: Value of ``by`` -> matplotlib keyword arguments (``label`` among them).
        by: Column that tells the lines apart.
        dodge: Horizontal shift between neighbouring lines (in ``x`` units), so that lines and
            intervals that coincide stay visible; the lines are centred on the true ``x``.
    """
    part = summary[summary["metric"] == metric]
    shown = [v for v in lines if not part[part[by] == v].empty]
    for k, value in enumerate(shown):
        rows = part[part[by] == value].sort_values(x)
        mean, err = error_bars(rows)
        shift = (k - (len(shown) - 1) / 2) * dodge
        style = {"marker": "o", "markersize": 4} | lines[value]
        ax.errorbar(rows[x].to_numpy(float) + shift, mean, yerr=err, **style)
    ax.grid(True)


def heatmap(
    ax: Axes,
    table: pd.DataFrame,
    half: pd.DataFrame,
    title: str,
    cmap: str,
    xlabel: str,
    colourbar: str,
    diverging: bool = False,
) -> None:
    """One annotated heatmap (rows bottom up): each cell shows its mean and CI half-width.

    Args:
        ax: Axes to draw on.
        table: Means; index = rows (y), columns = x.
        half: CI half-widths, shaped like ``table`` (NaN: none shown).
        title: Panel title.
        cmap: Colour map.
        xlabel: Horizontal axis label.
        colourbar: The colourbar's label (what the colour measures, with its unit).
        diverging: Centre the colours on 0 (for differences).
    """
    values = table.to_numpy(float)
    halves = half.to_numpy(float)
    norm = None
    if diverging:
        bound = max(float(np.nanmax(np.abs(values))), 1e-9)
        norm = TwoSlopeNorm(0.0, -bound, bound)
    image = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto", norm=norm)
    ax.spines[["top", "right"]].set_visible(True)  # an image is framed on all sides
    ax.figure.colorbar(image, ax=ax, shrink=0.85, label=colourbar)
    lo, hi = image.norm.vmin, image.norm.vmax
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v, h = values[i, j], halves[i, j]
            share = (v - lo) / (hi - lo + 1e-12)
            dark = abs(share - 0.5) > 0.3 if diverging else share < 0.55
            if cmap == "magma_r":
                dark = share > 0.45
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


def paired_by_group(
    metrics: pd.DataFrame,
    cond: Sequence[str],
    groups: Sequence[str],
    is_reference: Callable[[pd.DataFrame], pd.Series],
) -> pd.DataFrame:
    """Paired differences from a reference within each group of conditions.

    Args:
        metrics: One row per run: the ``cond`` columns, ``seed`` and the metrics.
        cond: Columns naming a condition.
        groups: Columns (a subset of ``cond``) within which the reference is chosen, e.g. the
            depth and assessment variant for a reference escalation of 0.
        is_reference: Rows of a group that are its reference.

    Returns:
        :func:`experiments.stats.paired_summary` rows of every group.
    """
    parts = []
    for _, part in metrics.groupby(list(groups), sort=False) if groups else [(None, metrics)]:
        ref = part[is_reference(part)].drop(columns=list(cond))
        parts.append(paired_summary(part, ref, by=list(cond)))
    return pd.concat(parts, ignore_index=True)
