"""Figures and summary tables drawn from results on disk (this module never simulates).

Usage::

    python -m experiments.figures default            # the figure of experiment `default`
    python -m experiments.figures smoke model.people=500

The experiment's config names its figure (``experiment.figure``); :data:`FIGURES` maps that
name to a function that turns the experiment's runs into a matplotlib figure and a tidy summary
table. The figure is saved as PDF and PNG under ``<root>/<experiment>/figures/`` and the table
as ``<root>/<experiment>/summary.csv``, all written atomically. New experiments add a function
to :data:`FIGURES` and reuse the helpers here (:func:`run_metrics`, :func:`summarise`,
:func:`bar_panel`, :func:`save_figure`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from experiments.results import (
    atomic_path,
    config_hash,
    experiment_dir,
    read_provenance,
    read_runs,
    result_files,
)
from sim.config import load_config
from sim.params import Config, ConfigError

#: Weeks at the end of a run over which "final-year" outcomes are averaged.
FINAL_WEEKS = 52
#: Confidence level of every interval.
LEVEL = 0.95

#: Per-run scalar metrics: name -> (column of the per-step table, reduction, axis label).
METRICS: dict[str, tuple[str, str, str]] = {
    "cohesion": ("cohesion", "final", "Cohesion\n(mean member commitment, final year)"),
    "mobilization": (
        "mobilization",
        "peak",
        "Mobilization\n(peak participation share in the call)",
    ),
}

FigureFunction = Callable[[pd.DataFrame, Config], tuple[Figure, pd.DataFrame]]


# --------------------------------------------------------------------------- statistics


def run_metrics(
    runs: pd.DataFrame, metrics: Sequence[str] = tuple(METRICS), final_weeks: int = FINAL_WEEKS
) -> pd.DataFrame:
    """Reduce each run's time series to one number per metric.

    ``final`` metrics are the mean over the last ``final_weeks`` steps of the run (all steps if
    the run is shorter); ``peak`` metrics are the maximum over steps.

    Args:
        runs: Tidy per-step table with columns ``scenario``, ``seed``, ``step`` and the metrics'
            source columns (see :func:`experiments.results.read_runs`).
        metrics: Names from :data:`METRICS`.
        final_weeks: Length of the final window.

    Returns:
        One row per (scenario, seed) with one column per metric.
    """
    rows = []
    for (scenario, seed), run in runs.groupby(["scenario", "seed"], sort=False):
        run = run.sort_values("step")
        row: dict[str, object] = {"scenario": scenario, "seed": seed}
        for name in metrics:
            column, how, _ = METRICS[name]
            series = run[column].astype(float)
            if how == "peak":
                row[name] = series.max()
            else:
                last = run["step"].max()
                row[name] = series[run["step"] > last - final_weeks].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the mean.

    Args:
        values: Replicate values (NaN ignored).
        level: Confidence level.

    Returns:
        ``(mean, low, high)``; the bounds are NaN with fewer than two values.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return mean, mean - half, mean + half


def summarise(
    metrics: pd.DataFrame, by: str | Sequence[str] = "scenario", level: float = LEVEL
) -> pd.DataFrame:
    """Replicate statistics of per-run metrics.

    Args:
        metrics: Output of :func:`run_metrics` (one row per run).
        by: Column(s) identifying a condition (default: the scenario).
        level: Confidence level of the t-interval.

    Returns:
        Tidy table: the ``by`` columns, ``metric``, ``n`` (seeds), ``mean``, ``sd``,
        ``ci_low``, ``ci_high`` and ``cv_mean`` (coefficient of variation of the mean:
        standard error over the absolute mean; small means the replicates suffice).
    """
    keys = [by] if isinstance(by, str) else list(by)
    values = [c for c in metrics.columns if c not in keys and c != "seed"]
    rows = []
    for group, part in metrics.groupby(keys, sort=False):
        group = group if isinstance(group, tuple) else (group,)
        for name in values:
            x = part[name].astype(float).dropna()
            mean, low, high = t_interval(x, level)
            sd = float(x.std(ddof=1)) if len(x) > 1 else float("nan")
            sem = sd / np.sqrt(len(x)) if len(x) > 1 else float("nan")
            cv = sem / abs(mean) if mean else float("nan")
            rows.append(
                {
                    **dict(zip(keys, group, strict=True)),
                    "metric": name,
                    "n": len(x),
                    "mean": mean,
                    "sd": sd,
                    "ci_low": low,
                    "ci_high": high,
                    "cv_mean": cv,
                }
            )
    return pd.DataFrame(rows)


def scenario_order(found: Sequence[str], preferred: Sequence[str] = ()) -> list[str]:
    """Scenarios in the experiment's order first, any others after, alphabetically."""
    first = [s for s in preferred if s in set(found)]
    return first + sorted(set(found) - set(first))


# --------------------------------------------------------------------------- drawing


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
        summary: Output of :func:`summarise` by scenario.
        metric: Which metric to draw.
        order: Scenarios, left to right.
        points: Per-run metrics (output of :func:`run_metrics`) to overlay, or None.
        ylabel: Axis label (default: the metric's label from :data:`METRICS`).
    """
    part = summary[summary["metric"] == metric].set_index("scenario").reindex(order)
    x = np.arange(len(order))
    mean = part["mean"].to_numpy(dtype=float)
    err = np.vstack([mean - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - mean])
    err = np.nan_to_num(err)
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
    ax.set_ylabel(ylabel or METRICS[metric][2])
    ax.spines[["top", "right"]].set_visible(False)


def scenario_bars(runs: pd.DataFrame, cfg: Config) -> tuple[Figure, pd.DataFrame]:
    """Two panels, cohesion and mobilization, as bars per scenario with 95% CI across seeds.

    Cohesion is each run's final-year mean of ``cohesion``; mobilization is each run's peak
    of ``mobilization`` (the participation share during the call).

    Args:
        runs: All runs of the experiment (per-step table).
        cfg: The experiment's config (for the scenario order and title).

    Returns:
        The figure and the summary table (per scenario and metric).
    """
    metrics = run_metrics(runs, ("cohesion", "mobilization"))
    summary = summarise(metrics)
    order = scenario_order(metrics["scenario"].unique(), cfg.experiment.policies)
    summary["scenario"] = pd.Categorical(summary["scenario"], order, ordered=True)
    summary = summary.sort_values(["metric", "scenario"]).reset_index(drop=True)
    summary["scenario"] = summary["scenario"].astype(str)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("cohesion", "mobilization"), strict=True):
        bar_panel(ax, summary, metric, order, points=metrics)
    n = metrics.groupby("scenario")["seed"].nunique()
    seeds = f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
    fig.suptitle(
        f"{cfg.experiment.name}: mean and {LEVEL:.0%} CI over {seeds} seeds per scenario",
        fontsize=10,
    )
    return fig, summary


#: Figure name (``experiment.figure``) -> figure function.
FIGURES: dict[str, FigureFunction] = {"scenario_bars": scenario_bars}


# --------------------------------------------------------------------------- subject and fusion
# Figures of the `escalation` and `fusion_modes` experiments (DESIGN §8). Their sweeps give
# every condition a scenario of its own; the levers of each run are read back from the
# provenance stored in its result file (:func:`run_levers`).

METRICS.update(
    {
        "burden": ("burden", "final", "Burden\n(paperwork share of branch hours, final year)"),
        "business_performance": (
            "business_performance",
            "final",
            "Business performance\n(mean index of units with a branch, final year)",
        ),
        "sensing_error": ("sensing_error", "final", "Sensing error\n(final year)"),
    }
)

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


def run_levers(experiment: str, keys: Sequence[str]) -> pd.DataFrame:
    """The value of some config keys in every run of an experiment, from the provenance.

    Args:
        experiment: Experiment name (its runs are under ``<root>/<experiment>/runs``).
        keys: Dotted config keys, e.g. ``policy.escalation``.

    Returns:
        One row per result file: ``scenario``, ``seed`` and one column per key.
    """
    rows = []
    for path in result_files(experiment_dir(experiment) / "runs"):
        prov = read_provenance(path) or {}
        config = prov.get("config") or {}
        row: dict[str, object] = {
            "scenario": prov.get("scenario", path.parent.name),
            "seed": prov.get("seed"),
        }
        for key in keys:
            node: object = config
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            row[key] = node
        rows.append(row)
    return pd.DataFrame(rows)


def line_panel(
    ax: Axes,
    summary: pd.DataFrame,
    x: str,
    metric: str,
    lines: dict[object, dict[str, object]],
    by: str,
) -> None:
    """Mean of a metric over ``x``, one line per value of ``by``, with 95% CI bars.

    Args:
        ax: Axes to draw on.
        summary: Output of :func:`summarise` with ``x`` and ``by`` among its columns.
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
        xs = rows[x].to_numpy(float)
        mean = rows["mean"].to_numpy(float)
        err = np.nan_to_num(
            np.vstack(
                [mean - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - mean]
            )
        )
        kwargs = {"capsize": 3, "marker": "o", "markersize": 4, "linewidth": 1.4} | style
        ax.errorbar(xs, mean, yerr=err, **kwargs)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3, linewidth=0.5)


def _seed_note(metrics: pd.DataFrame, keys: Sequence[str]) -> str:
    n = metrics.groupby(list(keys))["seed"].nunique()
    return f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"


def escalation_grid(runs: pd.DataFrame, cfg: Config) -> tuple[Figure, pd.DataFrame]:
    """Burden and cohesion over escalation: by hierarchy depth, and by assessment variant.

    Left: separate tables per department, one line per depth (``model.levels``). Right: the
    default depth, one line per assessment variant (unified table, simplified downward). Each
    point is the mean over seeds of the final-year average, with its 95% CI.

    Args:
        runs: All runs of the experiment (per-step table).
        cfg: The experiment's config.

    Returns:
        The figure and the summary table (per condition and metric).
    """
    from matplotlib import colormaps

    keys = ["policy.escalation", "model.levels", "policy.unified_table", "policy.simplify_downward"]
    levers = run_levers(cfg.experiment.name, keys).rename(
        columns={
            "policy.escalation": "escalation",
            "model.levels": "levels",
            "policy.unified_table": "unified_table",
            "policy.simplify_downward": "simplify_downward",
        }
    )
    metrics = run_metrics(runs, ("burden", "cohesion")).merge(levers, on=["scenario", "seed"])
    metrics["variant"] = [
        ASSESSMENT_VARIANTS[(bool(u), bool(s))]
        for u, s in zip(metrics["unified_table"], metrics["simplify_downward"], strict=True)
    ]
    cond = ["escalation", "levels", "variant"]
    summary = summarise(
        metrics.drop(columns=["scenario", "unified_table", "simplify_downward"]), by=cond
    )
    depths = sorted(metrics["levels"].unique())
    default_depth = cfg.model.levels if cfg.model.levels in depths else depths[len(depths) // 2]
    separate = ASSESSMENT_VARIANTS[(False, False)]
    cmap = colormaps["viridis"]
    by_depth = {
        int(lv): {
            "label": f"{int(lv)} levels (branch depth {int(lv) - 1})",
            "color": cmap(i / max(1, len(depths) - 1) * 0.85),
        }
        for i, lv in enumerate(depths)
    }
    by_variant = {
        label: {"label": label, "color": f"C{i}", "linestyle": "-" if i == 0 else "--"}
        for i, label in enumerate(ASSESSMENT_VARIANTS.values())
    }
    fig = Figure(figsize=(10, 7), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True, sharey="row")
    for row, metric in enumerate(("burden", "cohesion")):
        left = summary[summary["variant"] == separate]
        line_panel(axes[row, 0], left, "escalation", metric, by_depth, "levels")
        right = summary[summary["levels"] == default_depth]
        line_panel(axes[row, 1], right, "escalation", metric, by_variant, "variant")
        axes[row, 0].set_ylabel(METRICS[metric][2])
        if metric == "burden":
            for ax in axes[row]:
                ax.set_ylim(0, 1)
    axes[0, 0].set_title("Separate tables per department, by hierarchy depth", fontsize=10)
    axes[0, 1].set_title(f"{default_depth} levels, by assessment variant", fontsize=10)
    for ax in axes[1]:
        ax.set_xlabel("Escalation per layer (policy.escalation)")
    axes[0, 0].legend(fontsize=8, frameon=False)
    axes[0, 1].legend(fontsize=8, frameon=False)
    fig.suptitle(
        f"{cfg.experiment.name}: mean and {LEVEL:.0%} CI over "
        f"{_seed_note(metrics, cond)} seeds per condition "
        f"({cfg.model.people:,} people, {cfg.run.steps} weeks)",
        fontsize=10,
    )
    return fig, summary


def fusion_modes_figure(runs: pd.DataFrame, cfg: Config) -> tuple[Figure, pd.DataFrame]:
    """Business performance and cohesion per fusion mode, and over integration effort.

    Top: per mode at the baseline effort (``policy.integration_effort`` of the baseline package,
    else the closest swept value), the change from isolated mode evaluated by traces (the
    baseline's two skins), paired by seed, with assessment by traces and by outcomes side by
    side. Bottom: the mean over seeds against the integration effort, one line per mode
    (evaluated by traces, so the effort stays where it was set), and integrated mode evaluated
    by outcomes dashed; the dotted line marks the closed-form peak ``b1 / (2 b2)``. All values
    are final-year averages with their 95% CI over seeds.

    Args:
        runs: All runs of the experiment (per-step table).
        cfg: The experiment's config.

    Returns:
        The figure and the summary table: per condition and metric, plus the paired changes
        (metrics ``<metric>_vs_isolated``) at the bar effort.
    """
    keys = ["policy.fusion_mode", "policy.integration_effort", "policy.evaluation"]
    levers = run_levers(cfg.experiment.name, keys).rename(
        columns={
            "policy.fusion_mode": "mode",
            "policy.integration_effort": "effort",
            "policy.evaluation": "evaluation",
        }
    )
    names = ("business_performance", "cohesion")
    metrics = run_metrics(runs, names).merge(levers, on=["scenario", "seed"])
    cond = ["mode", "effort", "evaluation"]
    summary = summarise(metrics.drop(columns=["scenario"]), by=cond)
    efforts = np.sort(metrics["effort"].unique().astype(float))
    bar_effort = float(efforts[np.argmin(np.abs(efforts - cfg.policy.integration_effort))])
    modes = [m for m in FUSION_MODES if m in set(metrics["mode"])]
    # paired changes from isolated mode evaluated by traces, at the bar effort
    at = metrics[np.isclose(metrics["effort"].astype(float), bar_effort)]
    ref = at[(at["mode"] == "isolated") & (at["evaluation"] == "traces")].set_index("seed")
    change = at.copy()
    for name in names:
        change[name] = change[name].to_numpy(float) - ref[name].reindex(change["seed"]).to_numpy()
    change = change.rename(columns={n: f"{n}_vs_isolated" for n in names})
    paired = summarise(change.drop(columns=["scenario"]), by=cond)
    fig = Figure(figsize=(10, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    width = 0.38
    for col, name in enumerate(names):
        ax = axes[0, col]
        part = paired[paired["metric"] == f"{name}_vs_isolated"]
        for k, (evaluation, colour) in enumerate((("traces", "0.65"), ("outcomes", "C2"))):
            rows = part[part["evaluation"] == evaluation].set_index("mode").reindex(modes)
            mean = rows["mean"].to_numpy(float)
            err = np.nan_to_num(
                np.vstack(
                    [mean - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - mean]
                )
            )
            xs = np.arange(len(modes)) + (k - 0.5) * width
            ax.bar(
                xs,
                mean,
                width=width,
                yerr=err,
                capsize=3,
                color=colour,
                edgecolor="black",
                linewidth=0.6,
                label=f"evaluated by {evaluation}",
            )
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(np.arange(len(modes)), [FUSION_MODES[m] for m in modes], fontsize=8)
        ax.set_ylabel(f"Change in {METRICS[name][2][0].lower()}{METRICS[name][2][1:]}")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3, linewidth=0.5)
        ax.set_title(
            f"Change from isolated by traces, at effort {bar_effort:g} (paired seeds)",
            fontsize=9,
        )
    axes[0, 0].legend(fontsize=8, frameon=False, loc="lower left")
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
    peak = cfg.model.business_lift / (2 * cfg.model.business_curvature)
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
                fontsize=8,
            )
        if name == "cohesion":
            ax.annotate(
                "isolated and generalized spend the same hours:\nsame cohesion (wide"
                " orange under red)",
                (0.02, 0.02),
                xycoords="axes fraction",
                fontsize=7.5,
            )
        ax.set_xlabel("Integration effort B (policy.integration_effort)")
        ax.set_ylabel(METRICS[name][2])
        ax.set_title("Over effort (solid: by traces, effort stays as set)", fontsize=9)
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(
        f"{cfg.experiment.name}: mean and {LEVEL:.0%} CI over "
        f"{_seed_note(metrics, cond)} seeds per condition "
        f"({cfg.model.people:,} people, {cfg.run.steps} weeks)",
        fontsize=10,
    )
    return fig, pd.concat([summary, paired], ignore_index=True)


FIGURES.update({"escalation_grid": escalation_grid, "fusion_modes": fusion_modes_figure})


# --------------------------------------------------------------------------- foundation, openness
# Figures of the `coverage_embedding`, `openness` and `social_change` experiments (DESIGN §8;
# paper 2 and 4). The first two sweeps give every condition a scenario of its own, whose levers
# are read back from the provenance (:func:`run_levers`); social_change compares policy packages.

METRICS.update(
    {
        "floating_gap": (
            "floating_gap",
            "final",
            "Floating gap\n(formal - effective coverage, final year)",
        ),
        "floating_members": (
            "floating_members",
            "final",
            "Floating members\n(share without a branch, final year)",
        ),
        "identification": (
            "identification",
            "final",
            "Identification\n(masses' mean, final year)",
        ),
        "effective_coverage": (
            "effective_coverage",
            "final",
            "Effective coverage\n(masses reached, final year)",
        ),
        "new_strata_recruit_share": (
            "new_strata_recruit_share",
            "final",
            "New strata and platform workers\n(share of recruits, final year)",
        ),
    }
)


def _heatmap(ax: Axes, table: pd.DataFrame, half: pd.DataFrame, title: str, cmap: str) -> None:
    """One annotated heatmap: rows = embedding (bottom up), columns = coverage."""
    values = table.to_numpy(float)
    image = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax, shrink=0.85)
    lo, hi = np.nanmin(values), np.nanmax(values)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v, h = values[i, j], half.to_numpy(float)[i, j]
            dark = (
                (v - lo) / (hi - lo + 1e-12) < 0.55
                if cmap != "magma_r"
                else ((v - lo) / (hi - lo + 1e-12) > 0.45)
            )
            text = f"{v:.3f}" if np.isnan(h) else f"{v:.3f}\n±{h:.3f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(table.shape[1]), [f"{c:g}" for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [f"{r:g}" for r in table.index])
    ax.set_xlabel("Coverage (policy.coverage)")
    ax.set_title(title, fontsize=9)


def coverage_embedding_heatmaps(runs: pd.DataFrame, cfg: Config) -> tuple[Figure, pd.DataFrame]:
    """Heatmaps of cohesion, mobilization and the floating gap over coverage x embedding.

    Each cell shows the mean over seeds and the half-width of its 95% CI. Cohesion and the
    floating gap are final-year means, mobilization the peak participation in the call.

    Args:
        runs: All runs of the experiment (per-step table).
        cfg: The experiment's config.

    Returns:
        The figure and the summary table (per condition and metric).
    """
    levers = run_levers(cfg.experiment.name, ["policy.coverage", "policy.embedding"]).rename(
        columns={"policy.coverage": "coverage", "policy.embedding": "embedding"}
    )
    names = ("cohesion", "mobilization", "floating_gap")
    metrics = run_metrics(runs, names).merge(levers, on=["scenario", "seed"])
    summary = summarise(metrics.drop(columns=["scenario"]), by=["coverage", "embedding"])
    summary["ci_half"] = (summary["ci_high"] - summary["ci_low"]) / 2
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    titles = {
        "cohesion": ("Cohesion (mean member commitment, final year)", "viridis"),
        "mobilization": ("Mobilization (peak share of people active in the call)", "viridis"),
        "floating_gap": ("Floating gap (formal - effective coverage, final year)", "magma_r"),
    }
    for ax, name in zip(axes, names, strict=True):
        part = summary[summary["metric"] == name]
        table = part.pivot(index="embedding", columns="coverage", values="mean").sort_index()
        half = part.pivot(index="embedding", columns="coverage", values="ci_half").sort_index()
        _heatmap(ax, table, half.reindex_like(table), titles[name][0], titles[name][1])
    axes[0].set_ylabel("Embedding (policy.embedding: share dual-registered)")
    fig.suptitle(
        f"{cfg.experiment.name}: mean ± {LEVEL:.0%} CI half-width over "
        f"{_seed_note(metrics, ['coverage', 'embedding'])} seeds per cell "
        f"({cfg.model.people:,} people, {cfg.run.steps} weeks; platform and online coverage "
        "follow policy.coverage)",
        fontsize=10,
    )
    return fig, summary


def openness_lines(runs: pd.DataFrame, cfg: Config) -> tuple[Figure, pd.DataFrame]:
    """Mobilization, identification, effective coverage and new-strata recruits over openness.

    One line per speed of social change (``model.platform_shift``); points are means over seeds
    with 95% CI bars.

    Args:
        runs: All runs of the experiment (per-step table).
        cfg: The experiment's config.

    Returns:
        The figure and the summary table (per condition and metric).
    """
    from matplotlib import colormaps

    levers = run_levers(cfg.experiment.name, ["policy.openness", "model.platform_shift"]).rename(
        columns={"policy.openness": "openness", "model.platform_shift": "platform_shift"}
    )
    names = ("mobilization", "identification", "effective_coverage", "new_strata_recruit_share")
    metrics = run_metrics(runs, names).merge(levers, on=["scenario", "seed"])
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
        ax.set_ylabel(METRICS[name][2])
    for ax in axes[2:]:
        ax.set_xlabel("Openness (policy.openness; its four sub-levers follow it)")
    axes[0].legend(title="Move to platforms", fontsize=8, title_fontsize=8, frameon=False)
    fig.suptitle(
        f"{cfg.experiment.name}: mean and {LEVEL:.0%} CI over "
        f"{_seed_note(metrics, ['openness', 'platform_shift'])} seeds per condition "
        f"({cfg.model.people:,} people, {cfg.run.steps} weeks)",
        fontsize=10,
    )
    return fig, summary


#: Panels of the social_change time series: column -> axis label.
SERIES_PANELS: dict[str, str] = {
    "floating_members": "Floating members\n(share without a branch)",
    "floating_gap": "Floating gap\n(formal - effective coverage)",
    "cohesion": "Cohesion\n(mean member commitment)",
    "effective_coverage": "Effective coverage\n(share of masses reached)",
    "identification": "Identification\n(masses' mean)",
    "new_strata_recruit_share": "New strata and platform workers\n(share of recruits, last year)",
}


def series_interval(runs: pd.DataFrame, column: str, level: float = LEVEL) -> pd.DataFrame:
    """Per scenario and step: mean of a column over seeds and its t confidence interval."""
    g = runs.groupby(["scenario", "step"])[column]
    out = g.agg(["mean", "std", "count"]).reset_index()
    tcrit = stats.t.ppf(0.5 + level / 2, np.maximum(out["count"] - 1, 1))
    half = np.where(out["count"] > 1, tcrit * out["std"] / np.sqrt(out["count"]), np.nan)
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out


def social_change_series(runs: pd.DataFrame, cfg: Config) -> tuple[Figure, pd.DataFrame]:
    """Time series over the run, one line per policy package, with 95% CI bands over seeds.

    Args:
        runs: All runs of the experiment (per-step table).
        cfg: The experiment's config (scenario order, platform shift).

    Returns:
        The figure and a summary table: final-year means per scenario with 95% CI.
    """
    order = scenario_order(runs["scenario"].unique(), cfg.experiment.policies)
    fig = Figure(figsize=(12, 6.8), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True).ravel()
    for ax, (column, label) in zip(axes, SERIES_PANELS.items(), strict=True):
        band = series_interval(runs, column)
        for i, scenario in enumerate(order):
            part = band[band["scenario"] == scenario].sort_values("step")
            years = part["step"].to_numpy(float) / 52
            colour = "0.35" if scenario == "baseline" else f"C{i}"
            style = ("-", "--", "-.", ":")[i % 4]  # lines that coincide stay visible
            low, high = part["ci_low"], part["ci_high"]
            if column != "floating_gap":  # shares: a t-interval is cut at 0 for display
                low = np.maximum(low, 0.0)
            ax.plot(
                years, part["mean"], color=colour, linewidth=1.4, linestyle=style, label=scenario
            )
            ax.fill_between(years, low, high, color=colour, alpha=0.2, linewidth=0)
        ax.set_ylabel(label)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.3, linewidth=0.5)
    for ax in axes[3:]:
        ax.set_xlabel("Years")
    axes[0].legend(fontsize=8, frameon=False)
    metrics = run_metrics(
        runs,
        ("floating_members", "floating_gap", "cohesion", "effective_coverage", "identification"),
    )
    summary = summarise(metrics)
    n = metrics.groupby("scenario")["seed"].nunique()
    seeds = f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
    fig.suptitle(
        f"{cfg.experiment.name}: {cfg.model.platform_shift:.0%} of stable-unit workers move to "
        f"platforms each year; mean and {LEVEL:.0%} CI over {seeds} seeds "
        f"({cfg.model.people:,} people)",
        fontsize=10,
    )
    return fig, summary


FIGURES.update(
    {
        "coverage_embedding_heatmaps": coverage_embedding_heatmaps,
        "openness_lines": openness_lines,
        "social_change_series": social_change_series,
    }
)


# --------------------------------------------------------------------------- saving


def save_figure(
    fig: Figure, base: str | Path, formats: Sequence[str] = ("pdf", "png")
) -> list[Path]:
    """Save a figure atomically in several formats.

    Args:
        fig: The figure.
        base: Path without suffix, e.g. ``outputs/default/figures/scenario_bars``.
        formats: File formats (suffixes).

    Returns:
        The files written.
    """
    written = []
    for fmt in formats:
        path = Path(base).with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=200)
        written.append(path)
    return written


def save_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table to CSV atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def check_consistency(folder: Path) -> list[str]:
    """Warnings about runs of one scenario made with different configs (seed aside)."""
    hashes: dict[str, set[str]] = {}
    for path in result_files(folder):
        prov = read_provenance(path) or {}
        config = dict(prov.get("config") or {})
        config.pop("seed", None)
        hashes.setdefault(path.parent.name, set()).add(config_hash(config))
    return [
        f"warning: runs of scenario {s!r} under {folder} were made with {len(h)} different configs"
        for s, h in hashes.items()
        if len(h) > 1
    ]


def make_figures(experiment: str, overrides: Sequence[str] = ()) -> dict[str, list[Path]]:
    """Draw an experiment's figure and summary from its results on disk.

    Args:
        experiment: Experiment name (an option of ``configs/experiment``).
        overrides: Further config overrides (they only matter for what the figure reads, such
            as ``experiment.figure``).

    Returns:
        ``{"figures": [...], "summary": [...], "results": [...]}`` paths.

    Raises:
        ConfigError: If the config is invalid or names an unknown figure.
        FileNotFoundError: If the experiment has no results yet.
    """
    cfg = load_config([f"experiment={experiment}", *overrides])
    name = cfg.experiment.figure
    if name not in FIGURES:
        raise ConfigError(
            f"experiment.figure = {name!r}: unknown figure; available: {', '.join(FIGURES)}"
        )
    folder = experiment_dir(cfg.experiment.name)
    results = folder / "runs"
    runs = read_runs(results)
    for warning in check_consistency(results):
        print(warning, file=sys.stderr)
    fig, summary = FIGURES[name](runs, cfg)
    figures = save_figure(fig, folder / "figures" / name)
    table = save_csv(summary, folder / "summary.csv")
    return {"results": [results], "figures": figures, "summary": [table]}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m experiments.figures <experiment> [overrides...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        print("usage: python -m experiments.figures <experiment> [overrides...]", file=sys.stderr)
        return 2
    try:
        paths = make_figures(argv[0], argv[1:])
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(
            f"error: {exc}; run python -m experiments.run -m experiment={argv[0]} first",
            file=sys.stderr,
        )
        return 1
    for kind in ("results", "figures", "summary"):
        for path in paths[kind]:
            print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
