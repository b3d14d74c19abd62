"""Figures by name: the registry, the shared style, and saving.

A figure is a function from an :class:`~experiments.provenance.ExperimentRecord` (an
experiment's runs and what they recorded) to a :class:`Drawing`, registered under a name with
:func:`figure`. An experiment's config names its figure (``experiment.figure``); the name is
recorded in every result file, and :func:`draw` looks it up here. Every figure is drawn and
saved under one style file, :data:`STYLE`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib import rc_context, style
from matplotlib.figure import Figure

from experiments.figures.lang import current, font_rc, language, tr
from experiments.provenance import ExperimentRecord
from experiments.results import atomic_path
from experiments.stats import LEVEL, precision

#: The style file every figure is drawn and saved with.
STYLE = Path(__file__).with_name("paper.mplstyle")


@dataclass(frozen=True)
class Drawing:
    """A drawn figure with its data.

    Attributes:
        figure: The matplotlib figure (its caption not yet set as a title).
        summary: Tidy table of the levels drawn (per condition and metric).
        caption: One line saying what ran and what the intervals are, from the results.
        headline: The paired differences from the reference the figure shows
            (:func:`experiments.stats.paired_summary` rows); :func:`draw` adds their achieved
            precision (:func:`experiments.stats.precision`) and appends them to ``summary``
            with ``kind`` ``difference``.
        rc: Font settings the figure must also be saved with (set by :func:`draw`).
    """

    figure: Figure
    summary: pd.DataFrame
    caption: str
    headline: pd.DataFrame | None = None
    rc: dict[str, object] = field(default_factory=dict)


FigureFunction = Callable[[ExperimentRecord], Drawing]

#: Figure name -> function; filled by :func:`figure`.
FIGURES: dict[str, FigureFunction] = {}


class FigureError(ValueError):
    """An unknown figure name; the message is one line."""


def figure(name: str) -> Callable[[FigureFunction], FigureFunction]:
    """Register a figure function under ``name`` (the value of ``experiment.figure``).

    Args:
        name: The figure's name; it is also the base name of its files.

    Raises:
        ValueError: If the name is taken.
    """

    def register(function: FigureFunction) -> FigureFunction:
        if name in FIGURES:
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES[name] = function
        return function

    return register


def lookup(name: str) -> FigureFunction:
    """The function of a figure name.

    Raises:
        FigureError: If no figure has that name (the message lists those that exist).
    """
    if name not in FIGURES:
        raise FigureError(f"figure {name!r}: unknown; registered figures: {', '.join(FIGURES)}")
    return FIGURES[name]


def caption(
    record: ExperimentRecord,
    reference: str | None = None,
    per: str = "scenario",
    detail: str = "",
    shown: str = "mean and {ci}",
) -> str:
    """A figure's caption: what ran, n seeds, what the intervals are, how differences pair.

    Args:
        record: The experiment's results.
        reference: What differences are taken from (None: the figure shows none).
        per: What a condition is called.
        detail: More words on what ran.
        shown: What is drawn for levels; ``{ci}`` becomes the interval's name.

    Returns:
        One line (in the current figure language); with one seed it says "single run, no
        interval".
    """
    low, high = record.seeds()
    if current() == "zh":
        seeds = f"{low}" if low == high else f"{low}-{high}"
        what = (
            "单次运行，无区间"
            if high < 2
            else f"均值与{LEVEL:.0%}置信区间（t 区间，{seeds} 个种子）；份额区间截断于 [0, 1]"
        )
        size = f"{record.span('model.people')} 人，{record.span('run.steps')} 周"
        diff = f"；差值 = 情景 - {reference}，按种子配对" if reference and high >= 2 else ""
        return f"{record.name}：{what}{diff}（{size}）"
    text = record.caption(per=per, detail=detail, shown=shown)
    if high >= 2:
        text += "; intervals of shares cut to [0, 1]"
        if reference:
            text += (
                f"; differences: minus {reference}, mean and {LEVEL:.0%} CI of the "
                "seed-paired difference"
            )
    return text


def _warn_in_figure(fig: Figure, warnings: Sequence[str]) -> None:
    """Print the crisis-horizon warnings on the figure itself, in red at the bottom (as its
    x super-label, so that the layout makes room for it)."""
    lines = [w.removeprefix("warning: ") for w in warnings if "crisis call" in w]
    if lines:
        text = textwrap.fill(f"{tr('Warning')}: " + "; ".join(lines), 150)
        fig.supxlabel(text, color="#b00020", fontsize="small")


def draw(name: str, record: ExperimentRecord, lang: str = "en") -> Drawing:
    """Draw a registered figure in the shared style and a language, its caption as the title.

    The summary gains a ``kind`` column (``level`` or ``difference``) unless the figure gave
    its rows kinds of its own (the factorial's effects and synergy); the headline paired
    differences carry their achieved precision. A crisis call that the runs do not cover is
    written on the figure in red.

    Args:
        name: A registered figure name.
        record: The experiment's results.
        lang: Language of the labels (``en`` or ``zh``).

    Raises:
        FigureError: If the name is unknown.
        ValueError: If the language is unknown.
        FontMissingError: If the figure needs the CJK font and it is not installed.
    """
    function = lookup(name)
    with language(lang):
        rc = font_rc(lang, record.scenarios)
        with style.context(STYLE), rc_context(rc):
            drawing = function(record)
            # keep "[0, 1]" on one line of the wrapped title
            title = textwrap.fill(drawing.caption.replace("[0, 1]", "[0,\u00a01]"), 130)
            drawing.figure.suptitle(title.replace("\u00a0", " "))
            _warn_in_figure(drawing.figure, record.warnings)
    # d_z standardises a paired difference; for a level it would mean nothing
    summary = drawing.summary.drop(columns=["d_z"], errors="ignore")
    if "kind" not in summary:  # figures with their own kinds of rows (effects, synergy) keep them
        summary = summary.assign(kind="level")
    headline = drawing.headline
    if headline is not None and not headline.empty:
        headline = precision(headline).assign(kind="difference")
        summary = pd.concat([summary, headline], ignore_index=True)
    return Drawing(drawing.figure, summary, drawing.caption, headline, rc)


def save_figure(
    fig: Figure,
    base: str | Path,
    formats: Sequence[str] = ("pdf", "png"),
    rc: dict[str, object] | None = None,
) -> list[Path]:
    """Save a figure atomically in several formats, in the shared style (fonts, dpi).

    Args:
        fig: The figure.
        base: Path without suffix, e.g. ``outputs/default/figures/scenario_bars``.
        formats: File formats (suffixes).
        rc: Font settings of the drawing (:attr:`Drawing.rc`); text is laid out again when
            saved, so the fonts it was drawn with must be in force.

    Returns:
        The files written.
    """
    written = []
    with style.context(STYLE), rc_context(rc or {}):
        for fmt in formats:
            path = Path(base).with_suffix(f".{fmt}")
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt)
            written.append(path)
    return written


def save_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table to CSV atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path
