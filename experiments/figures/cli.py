"""Command line: draw an experiment's figures from its results on disk (never simulates).

Usage::

    python -m experiments.figures default                   # the figure(s) the results name
    python -m experiments.figures escalation --figure escalation_grid

Which figure to draw, and every label on it, come from the provenance recorded in the
experiment's result files, so a figure describes what ran even if the configs have changed
since. Each figure is saved as PDF and PNG, with its numbers as CSV, under
``<root>/<experiment>/figures/``, all written atomically.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from experiments.figures.registry import FigureError, draw, lookup, save_csv, save_figure
from experiments.provenance import ExperimentRecord
from experiments.results import ResultsError, experiment_dir, stored_experiments

#: Exit status for bad input on the command line (as for a configuration error).
EXIT_USAGE = 2
#: An experiment name that is safe as a folder name.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def make_figures(experiment: str, names: Sequence[str] = ()) -> dict[str, list[Path]]:
    """Draw an experiment's figures and their tables from its results on disk.

    Args:
        experiment: Experiment name (its results are under ``<root>/<experiment>``).
        names: Figures to draw (default: those the results name in ``experiment.figure``).

    Returns:
        ``{"figures": [...], "summary": [...]}`` paths written.

    Raises:
        FileNotFoundError: If the experiment has no results.
        ResultsError: If the result files disagree on what ran.
        FigureError: If a figure name is unknown (checked before anything is drawn).
    """
    record = ExperimentRecord.read(experiment)
    names = list(names) or list(record.figures)
    for name in names:
        lookup(name)
    folder = experiment_dir(experiment) / "figures"
    paths: dict[str, list[Path]] = {"figures": [], "summary": []}
    for name in names:
        drawing = draw(name, record)
        paths["figures"] += save_figure(drawing.figure, folder / name)
        paths["summary"].append(save_csv(drawing.summary, folder / f"{name}.csv"))
    for warning in record.warnings:
        print(warning, file=sys.stderr)
    return paths


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"usage error: {message} (usage: {self.format_usage().strip()})\n")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line's arguments; bad ones exit with one line and status 2."""
    parser = _Parser(
        prog="python -m experiments.figures",
        description="Draw an experiment's figures from its result files.",
    )
    parser.add_argument("experiment", help="experiment name (a folder of the output root)")
    parser.add_argument(
        "--figure",
        action="append",
        default=[],
        metavar="NAME",
        help="a registered figure to draw (repeatable; default: the one the results name)",
    )
    args = parser.parse_args(list(argv))
    if not _NAME.fullmatch(args.experiment):
        parser.exit(
            EXIT_USAGE,
            f"usage error: experiment = {args.experiment!r}: not an experiment name (letters, "
            "digits, '_', '-', '.', not starting with '.' or '-')\n",
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m experiments.figures <experiment> [--figure NAME ...]``."""
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        paths = make_figures(args.experiment, args.figure)
    except FigureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as exc:
        stored = ", ".join(stored_experiments()) or "none"
        print(
            f"error: experiment = {args.experiment!r}: {exc} (experiments with results: "
            f"{stored}); run python -m experiments.run -m experiment={args.experiment} first",
            file=sys.stderr,
        )
        return 1
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for kind in ("figures", "summary"):
        for path in paths[kind]:
            print(f"{kind}: {path}")
    return 0
