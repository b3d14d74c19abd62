"""Figures of the `sensitivity` experiment: Morris mu* against sigma, Sobol indices with CIs.

They read only what ``python -m experiments.sensitivity`` wrote (``morris.csv``, ``sobol.csv``,
``summary.json`` in ``<output root>/sensitivity/``) and are redrawn from those files.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import style  # noqa: E402

from experiments.figures.registry import STYLE, save_figure  # noqa: E402

LABELS = {
    "cohesion": "cohesion",
    "mobilization_peak": "mobilization (peak)",
    "identification": "identification",
    "unmet_needs": "unmet needs",
}


def short(name: str) -> str:
    """A factor's name without its group (``policy.coverage`` -> ``coverage``)."""
    return name.split(".", 1)[-1]


def morris_figure(table: pd.DataFrame, summary: dict, label_top: int = 5) -> plt.Figure:
    """mu* against sigma per outcome; policy levers and assumptions marked apart."""
    outcomes = [o for o in LABELS if o in set(table.outcome)]
    fig, axes = plt.subplots(2, 2, figsize=(6.8, 6.0))
    axes = np.atleast_1d(axes).ravel()[: len(outcomes)]
    for ax, o in zip(axes, outcomes, strict=True):
        t = table[table.outcome == o]
        lever = t.factor.str.startswith("policy.")
        ax.errorbar(
            t.mu_star[lever],
            t.sigma[lever],
            xerr=t.mu_star_conf[lever],
            fmt="o",
            color="C0",
            ms=4,
            lw=0.6,
            label="policy lever",
        )
        ax.errorbar(
            t.mu_star[~lever],
            t.sigma[~lever],
            xerr=t.mu_star_conf[~lever],
            fmt="s",
            color="C1",
            ms=3.5,
            lw=0.6,
            label="assumption",
        )
        for _, row in t.nlargest(label_top, "mu_star").iterrows():
            ax.annotate(
                short(row.factor),
                (row.mu_star, row.sigma),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize=6.5,
            )
        top = max(float(t.mu_star.max()), float(t.sigma.max()), 1e-12) * 1.1
        ax.plot([0, top], [0, top], color="0.6", lw=0.6, ls="--")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_title(LABELS[o])
        ax.set_xlabel("mu* (mean |elementary effect|)")
    for ax in axes[::2]:
        ax.set_ylabel("sigma (sd of elementary effects)")
    axes[0].legend(loc="upper left")
    m = summary.get("morris", {})
    fig.suptitle(
        f"Morris screening: {m.get('runs', '?')} runs ({m.get('trajectories', '?')} "
        f"trajectories), {summary.get('people', '?'):,} people, one seed\nbars: bootstrap "
        "95% CI of mu*; dashed: sigma = mu*; the five largest mu* are named"
    )
    fig.tight_layout()
    return fig


def sobol_figure(table: pd.DataFrame, summary: dict) -> plt.Figure:
    """First-order and total Sobol indices with bootstrap 95% CIs, one panel per outcome."""
    outcomes = [o for o in LABELS if o in set(table.outcome)]
    fig, axes = plt.subplots(2, 2, figsize=(6.8, 2.2 + 0.5 * table.factor.nunique()), sharey=True)
    axes = np.atleast_1d(axes).ravel()[: len(outcomes)]
    order = table.groupby("factor")["ST"].max().sort_values(ascending=True).index.tolist()
    y = np.arange(len(order))
    for ax, o in zip(axes, outcomes, strict=True):
        t = table[table.outcome == o].set_index("factor").loc[order]
        ax.errorbar(
            t.S1, y - 0.15, xerr=t.S1_conf, fmt="o", color="C0", ms=4, lw=0.8, label="first order"
        )
        ax.errorbar(
            t.ST, y + 0.15, xerr=t.ST_conf, fmt="s", color="C3", ms=4, lw=0.8, label="total"
        )
        ax.axvline(0, color="0.6", lw=0.6)
        ax.set_xlim(-0.1, 1.05)
        ax.set_title(LABELS[o])
        ax.set_xlabel("Sobol index (share of variance)")
        noise = summary.get("noise_share", {}).get(o)
        if noise is not None and np.isfinite(noise):
            ax.text(
                0.98, 0.02, f"seed noise {noise:.0%}", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7, color="0.35",
            )  # fmt: skip
    for ax in axes[::2]:
        ax.set_yticks(y, [short(f) for f in order])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2)
    s = summary.get("sobol", {})
    fig.suptitle(
        f"Sobol indices of the {len(order)} factors Morris ranks highest\n"
        f"{s.get('runs', '?')} runs (N = {s.get('n', '?')}), one seed; bars: bootstrap 95% CI\n"
        "(sampling error can take estimates outside [0, 1])\nseed noise: variance across seeds "
        "at the defaults over the sample's variance\n(above 100%: the seed moves that outcome "
        "more than these factors do)"
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def draw_sensitivity(folder: str | Path) -> list[Path]:
    """Draw both figures from the files in ``folder``; returns the files written."""
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    written = []
    with style.context(STYLE):
        fig = morris_figure(pd.read_csv(folder / "morris.csv"), summary)
        written += save_figure(fig, folder / "figures" / "sensitivity_morris")
        plt.close(fig)
        fig = sobol_figure(pd.read_csv(folder / "sobol.csv"), summary)
        written += save_figure(fig, folder / "figures" / "sensitivity_sobol")
        plt.close(fig)
    return written
