"""The sweep view: an experiment's stored results, its scenarios over time and their differences.

The view opens an experiment of the run store (:func:`experiments.results.stored_experiments`)
through :class:`experiments.provenance.ExperimentRecord`, the one reader of results, and draws
for one outcome

* left, each chosen scenario's mean over seeds at every week, with its 95% CI band;
* right, each scenario minus the reference scenario, paired by seed (the runs of a seed share
  their random draws), with the 95% CI band of the mean difference.

The drawing (:func:`sweep_png`) and its numbers (:func:`level_series`,
:func:`difference_series`) are plain functions; :func:`SweepView` is the Solara component.
"""

from __future__ import annotations

import html
import typing
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import solara  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from app.plots import canvas_png  # noqa: E402
from experiments.provenance import ExperimentRecord  # noqa: E402
from experiments.results import ResultsError, stored_experiments  # noqa: E402
from experiments.stats import LEVEL, series_interval  # noqa: E402

#: Scenarios drawn when an experiment is opened (more can be chosen; many lines overplot).
FIRST_SHOWN = 6
#: Columns of a run's table that are not outcomes.
_NOT_OUTCOMES = ("scenario", "seed", "step")


def outcomes(record: ExperimentRecord) -> list[str]:
    """The outcome columns an experiment's runs recorded (numeric, not scenario/seed/step)."""
    runs = record.runs
    return [
        c for c in runs.columns if c not in _NOT_OUTCOMES and pd.api.types.is_numeric_dtype(runs[c])
    ]


def level_series(record: ExperimentRecord, column: str, scenarios: Sequence[str]) -> pd.DataFrame:
    """Per scenario and week: the mean of ``column`` over seeds and its 95% CI."""
    runs = record.runs[record.runs["scenario"].isin(list(scenarios))]
    return series_interval(runs, column)


def difference_series(
    record: ExperimentRecord, column: str, reference: str, scenarios: Sequence[str]
) -> pd.DataFrame:
    """Per scenario and week: the mean paired difference from ``reference`` and its 95% CI.

    Runs are matched on seed and week; seeds without a reference run are left out.
    """
    runs = record.runs
    wide = runs.pivot_table(index=["seed", "step"], columns="scenario", values=column)
    if reference not in wide.columns:
        raise ValueError(f"reference = {reference!r}: not a scenario of {record.name!r}")
    shown = [s for s in scenarios if s in wide.columns and s != reference]
    diff = wide[shown].sub(wide[reference], axis=0).dropna(how="all")
    long = diff.stack().rename("difference").reset_index()
    if long.empty:
        return pd.DataFrame(columns=["scenario", "step", "mean", "ci_low", "ci_high"])
    return series_interval(long, "difference")


def _lines(ax, band: pd.DataFrame, order: Sequence[str], colours: dict[str, str]) -> None:
    for scenario in order:
        part = band[band["scenario"] == scenario].sort_values("step")
        if part.empty:
            continue
        weeks = part["step"].to_numpy(float)
        colour = colours[scenario]
        ax.plot(weeks, part["mean"], color=colour, lw=1.4, label=scenario)
        ax.fill_between(weeks, part["ci_low"], part["ci_high"], color=colour, alpha=0.2, lw=0)


def sweep_png(
    record: ExperimentRecord, column: str, reference: str, scenarios: Sequence[str]
) -> bytes:
    """The two panels (levels, differences from the reference) as a PNG."""
    order = [s for s in record.scenarios if s in scenarios]
    colours = {s: f"C{i % 10}" for i, s in enumerate(record.scenarios)}
    fig = Figure(figsize=(10, 3.8), dpi=100, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, sharex=True)
    levels = level_series(record, column, order)
    values = record.runs[column]
    if values.between(0, 1).all():  # a share: its interval is cut to [0, 1] for display
        levels[["ci_low", "ci_high"]] = levels[["ci_low", "ci_high"]].clip(0, 1)
    _lines(left, levels, order, colours)
    left.set_title(f"{column.replace('_', ' ')}: mean and {LEVEL:.0%} CI", fontsize=10)
    _lines(right, difference_series(record, column, reference, order), order, colours)
    right.axhline(0, color=colours.get(reference, "0.4"), lw=1, ls="--")
    right.set_title(f"minus {reference} (paired by seed), {LEVEL:.0%} CI", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("week")
        ax.grid(alpha=0.3)
    if order:
        left.legend(fontsize=8, frameon=False, ncols=2)
    canvas.draw()
    return canvas_png(canvas)


def _read(name: str | None) -> ExperimentRecord | str | None:
    """The experiment's record, or the one-line reason it cannot be read."""
    if not name:
        return None
    try:
        return ExperimentRecord.read(name)
    except (FileNotFoundError, ResultsError, ValueError) as exc:
        return f"{name}: {exc}"


@solara.component
def SweepView():
    """Choose a stored experiment, an outcome, a reference and scenarios; see their series."""
    refresh = solara.use_reactive(0)
    names = solara.use_memo(stored_experiments, [refresh.value])
    chosen = solara.use_reactive(names[0] if names else None)
    record = solara.use_memo(lambda: _read(chosen.value), [chosen.value, refresh.value])
    outcome = solara.use_reactive("cohesion")
    reference = solara.use_reactive(None)
    shown = solara.use_reactive(typing.cast(list[str], []))

    def open_experiment(name: str) -> None:
        chosen.set(name)
        reference.set(None)
        shown.set([])

    with solara.Column(style={"padding": "0 12px"}, classes=["sweep-view"]):
        with solara.Row():
            solara.Select("experiment", values=names, value=chosen.value, on_value=open_experiment)
            solara.Button("Refresh list", on_click=lambda: refresh.set(refresh.value + 1))
        if not names:
            solara.Info(
                "No stored experiments yet: run one, e.g. python -m experiments.run -m "
                "experiment=smoke (results go under $SIM_OUTPUT_ROOT or ./outputs)."
            )
            return
        if isinstance(record, str):
            solara.Error(record, classes=["sweep-error"])
            return
        if record is None:
            return
        columns = outcomes(record)
        column = outcome.value if outcome.value in columns else columns[0]
        scenarios = record.scenarios
        ref = reference.value if reference.value in scenarios else scenarios[0]
        picked = [s for s in shown.value if s in scenarios] or scenarios[:FIRST_SHOWN]
        with solara.Row():
            solara.Select("outcome", values=columns, value=column, on_value=outcome.set)
            solara.Select("reference", values=scenarios, value=ref, on_value=reference.set)
        solara.SelectMultiple("scenarios", values=picked, all_values=scenarios, on_value=shown.set)
        SweepPlot(record, column, ref, tuple(picked))
        low, high = record.seeds()
        seeds = f"{low}" if low == high else f"{low}-{high}"
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<span class="sweep-caption">{html.escape(record.name)}: '
                f"{len(scenarios)} scenarios, {seeds} seeds each, "
                f"{html.escape(record.span('model.people'))} people, "
                f"{html.escape(record.span('run.steps'))} weeks; showing "
                f"{html.escape(column)} for {len(picked)}; bands are {LEVEL:.0%} CIs of the "
                "mean over seeds.</span>"
            ),
            style={"font-size": "13px"},
        )
        for warning in record.warnings:
            solara.Warning(warning)


@solara.component
def SweepPlot(record: ExperimentRecord, column: str, reference: str, scenarios: tuple[str, ...]):
    """The two panels, drawn again only when what they show changes."""
    png = solara.use_memo(
        lambda: sweep_png(record, column, reference, scenarios),
        [record, column, reference, scenarios],
    )
    solara.Image(png, width="100%", classes=["sweep-plots"])
