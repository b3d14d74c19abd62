"""The crisis call: who turns out, members or masses, in which sectors, and how fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.crisis import GROUPS, call_curves, call_summary
from experiments.figures.registry import Drawing, figure
from experiments.provenance import ExperimentRecord
from experiments.stats import series_interval

#: Groups of the upper row of curves and their line styles.
MEMBERSHIP = {"members": "-", "masses": "--"}
#: Sector groups of the lower row.
SECTORS = [g for g in GROUPS if g not in MEMBERSHIP]


def _curves(ax, band: pd.DataFrame, groups: list[str]) -> None:
    """One line per group with its 95% CI band, cut to [0, 1] (shares)."""
    for i, group in enumerate(groups):
        part = band[band["group"] == group].sort_values("week")
        colour = f"C{i}"
        ax.plot(
            part["week"],
            part["mean"],
            color=colour,
            linestyle=MEMBERSHIP.get(group, "-"),
            marker=".",
            label=group,
        )
        low, high = np.clip(part["ci_low"], 0, 1), np.clip(part["ci_high"], 0, 1)
        ax.fill_between(part["week"], low, high, color=colour, alpha=0.2, linewidth=0)


def _dodged(ax, rows: pd.DataFrame, order: list[str], groups: list[str]) -> None:
    """Means with CI bars per scenario, the groups side by side."""
    for i, group in enumerate(groups):
        part = rows[rows["group"] == group].set_index("scenario").reindex(order)
        mean = part["mean"].to_numpy(float)
        err = np.nan_to_num(
            np.vstack([mean - part["ci_low"].to_numpy(float), part["ci_high"] - mean])
        )
        x = np.arange(len(order)) + (i - (len(groups) - 1) / 2) * 0.25
        ax.errorbar(x, mean, yerr=err, fmt="os"[i % 2], color=f"C{i}", capsize=3, label=group)
    ax.set_xticks(np.arange(len(order)), order, rotation=20)
    ax.grid(True, axis="y")


@figure("crisis_curves")
def crisis_curves(record: ExperimentRecord) -> Drawing:
    """Participation during the call per scenario, and the time to half its peak.

    Top: one column per scenario; upper row members against the masses, lower row by sector,
    each the mean share active in the group over seeds with its 95% CI band. Bottom: the weeks
    to half the peak per scenario (members and masses) and their paired difference from the
    reference scenario (the first of the experiment's scenarios).

    Args:
        record: The results of the ``crisis`` experiment.

    Returns:
        The figure and the table of :func:`experiments.crisis.call_summary` (every group,
        peak and time to half the peak, levels and paired differences).
    """
    start = int(record.value("model.crisis_start"))
    weeks = int(record.value("model.crisis_weeks"))
    order = record.scenarios
    reference = order[0]
    curves = call_curves(record.runs, start, weeks)
    band = series_interval(
        curves.rename(columns={"week": "step"}), "share", by=["scenario", "group"]
    )
    band = band.rename(columns={"step": "week"})
    summary = call_summary(curves, reference, order)

    fig = Figure(figsize=(2.3 * len(order) + 1, 8.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.6, 1])
    grid = top.subplots(2, len(order), sharex=True, sharey="row", squeeze=False)
    for j, scenario in enumerate(order):
        part = band[band["scenario"] == scenario]
        _curves(grid[0, j], part, list(MEMBERSHIP))
        _curves(grid[1, j], part, SECTORS)
        grid[0, j].set_title(scenario)
        grid[1, j].set_xlabel("Weeks since the call")
        for ax in grid[:, j]:
            ax.grid(True)
    grid[0, 0].set_ylabel("Share active\n(members vs masses)")
    grid[1, 0].set_ylabel("Share active\n(by sector)")
    grid[0, 0].legend(fontsize="x-small")
    grid[1, 0].legend(fontsize="x-small")

    left, right = bottom.subplots(1, 2)
    half = summary[summary["metric"] == "half_peak_weeks"]
    _dodged(left, half[half["quantity"] == "level"], order, list(MEMBERSHIP))
    left.set_ylabel("Weeks to half the peak")
    left.legend(fontsize="x-small")
    diff = half[half["quantity"] == f"minus {reference}"]
    _dodged(right, diff, order, list(MEMBERSHIP))
    right.axhline(0, color="0.5", linewidth=0.8)
    right.set_ylabel(f"Weeks to half the peak\nminus {reference} (paired)")
    caption = record.caption(
        detail=f"call in weeks {start}-{start + weeks - 1}; bands and bars: 95% CI over seeds"
    )
    return Drawing(fig, summary, caption)
