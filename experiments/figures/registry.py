"""Figures by name: the registry, the shared style, and saving.

A figure is a function from an :class:`~experiments.provenance.ExperimentRecord` (an
experiment's runs and what they recorded) to a :class:`Drawing`, registered under a name with
:func:`figure`. An experiment's config names its figure (``experiment.figure``); the name is
recorded in every result file, and :func:`draw` looks it up here. Every figure is drawn and
saved under one style file, :data:`STYLE`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib import style
from matplotlib.figure import Figure

from experiments.provenance import ExperimentRecord
from experiments.results import atomic_path

#: The style file every figure is drawn and saved with.
STYLE = Path(__file__).with_name("paper.mplstyle")


@dataclass(frozen=True)
class Drawing:
    """A drawn figure with its data.

    Attributes:
        figure: The matplotlib figure (its caption not yet set as a title).
        summary: Tidy table of the numbers drawn (per condition and metric).
        caption: One line saying what ran and what the intervals are, from the results.
    """

    figure: Figure
    summary: pd.DataFrame
    caption: str


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


def draw(name: str, record: ExperimentRecord) -> Drawing:
    """Draw a registered figure in the shared style, its caption as the title.

    Args:
        name: A registered figure name.
        record: The experiment's results.

    Raises:
        FigureError: If the name is unknown.
    """
    function = lookup(name)
    with style.context(STYLE):
        drawing = function(record)
        drawing.figure.suptitle(drawing.caption)
    return drawing


def save_figure(
    fig: Figure, base: str | Path, formats: Sequence[str] = ("pdf", "png")
) -> list[Path]:
    """Save a figure atomically in several formats, in the shared style (fonts, dpi).

    Args:
        fig: The figure.
        base: Path without suffix, e.g. ``outputs/default/figures/scenario_bars``.
        formats: File formats (suffixes).

    Returns:
        The files written.
    """
    written = []
    with style.context(STYLE):
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
