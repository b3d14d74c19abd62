"""Command line: draw an experiment's figures from its results on disk (never simulates).

Usage::

    python -m experiments.figures default                   # the figure(s) the results name
    python -m experiments.figures escalation --figure escalation_grid
    python -m experiments.figures default --lang zh          # Chinese labels (or figure.lang=zh)
    python -m experiments.figures --all                     # every experiment with results

Which figure to draw, and every label on it, come from the provenance recorded in the
experiment's result files, so a figure describes what ran even if the configs have changed
since. Each figure is saved as PDF and PNG (``<name>_zh`` in Chinese), with its numbers as
CSV, under ``<root>/<experiment>/figures/``, all written atomically. The CSV and the command
line report the achieved 95% CI half-width of the figure's headline paired differences and
whether the seeds suffice (:func:`experiments.stats.precision`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from experiments.figures.lang import LANGUAGES, FontMissingError
from experiments.figures.registry import FigureError, draw, lookup, save_csv, save_figure
from experiments.provenance import ExperimentRecord
from experiments.results import ResultsError, experiment_dir, stored_experiments
from experiments.stats import precision_line

#: Exit status for bad input on the command line (as for a configuration error).
EXIT_USAGE = 2
#: An experiment name that is safe as a folder name.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def make_figures(
    experiment: str, names: Sequence[str] = (), lang: str = "en"
) -> dict[str, list[Path]]:
    """Draw an experiment's figures and their tables from its results on disk.

    Args:
        experiment: Experiment name (its results are under ``<root>/<experiment>``).
        names: Figures to draw (default: those the results name in ``experiment.figure``).
        lang: Language of the labels (``en``, or ``zh``: files ``<name>_zh.pdf/png``).

    Returns:
        ``{"figures": [...], "summary": [...], "precision": [...]}``: paths written, and one
        line per figure on the achieved precision of its headline differences.

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
    paths: dict[str, list] = {"figures": [], "summary": [], "precision": []}
    for name in names:
        drawing = draw(name, record, lang)
        base = name if lang == "en" else f"{name}_{lang}"
        paths["figures"] += save_figure(drawing.figure, folder / base, rc=drawing.rc)
        paths["summary"].append(save_csv(drawing.summary, folder / f"{name}.csv"))
        if drawing.headline is not None:
            paths["precision"].append(f"{experiment}/{name}: {precision_line(drawing.headline)}")
    for warning in record.warnings:
        print(warning, file=sys.stderr)
    return paths


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        usage = " ".join(self.format_usage().split()[1:])  # one line, without "usage:"
        self.exit(EXIT_USAGE, f"usage error: {message} (usage: {usage})\n")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line's arguments; bad ones exit with one line and status 2."""
    parser = _Parser(
        prog="python -m experiments.figures",
        description="Draw an experiment's figures from its result files.",
    )
    parser.add_argument(
        "experiment", nargs="?", help="experiment name (a folder of the output root)"
    )
    parser.add_argument(
        "--all", action="store_true", help="every experiment with results in the output root"
    )
    parser.add_argument(
        "--lang", choices=LANGUAGES, default=None, help="label language (default en)"
    )
    parser.add_argument(
        "--figure",
        action="append",
        default=[],
        metavar="NAME",
        help="a registered figure to draw (repeatable; default: the one the results name)",
    )
    args, extra = parser.parse_known_args(list(argv))
    # the Hydra-style spelling of the language, as the run configs write options
    for token in list(extra):
        if token.startswith("figure.lang="):
            value = token.split("=", 1)[1]
            if value not in LANGUAGES:
                parser.exit(
                    EXIT_USAGE,
                    f"usage error: figure.lang = {value!r}: unknown; allowed: "
                    f"{', '.join(LANGUAGES)}\n",
                )
            args.lang = value
            extra.remove(token)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.lang = args.lang or "en"
    if args.all == (args.experiment is not None):
        parser.error("name one experiment or give --all (not both)")
    if args.experiment is not None and not _NAME.fullmatch(args.experiment):
        parser.exit(
            EXIT_USAGE,
            f"usage error: experiment = {args.experiment!r}: not an experiment name (letters, "
            "digits, '_', '-', '.', not starting with '.' or '-')\n",
        )
    return args


#: Experiments that store their own tables instead of runs (drawn by their own function).
TABLE_EXPERIMENTS = ("sensitivity",)


def _tables(experiment: str, lang: str) -> int:
    """Redraw an experiment that stores tables (sensitivity) from its files."""
    from experiments.figures.sensitivity import draw_sensitivity

    folder = experiment_dir(experiment)
    if not (folder / "summary.json").exists():
        print(
            f"error: experiment = {experiment!r}: no results in {folder}; run "
            f"python -m experiments.{experiment} first",
            file=sys.stderr,
        )
        return 1
    if lang != "en":
        print(f"note: {experiment} figures are drawn in English only", file=sys.stderr)
    for path in draw_sensitivity(folder):
        print(f"figures: {path}")
    return 0


def _one(experiment: str, names: Sequence[str], lang: str) -> int:
    """Draw one experiment's figures and print what was written; the exit status."""
    if experiment in TABLE_EXPERIMENTS:
        return _tables(experiment, lang)
    try:
        paths = make_figures(experiment, names, lang)
    except FigureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FontMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        stored = ", ".join(stored_experiments()) or "none"
        print(
            f"error: experiment = {experiment!r}: {exc} (experiments with results: "
            f"{stored}); run python -m experiments.run -m experiment={experiment} first",
            file=sys.stderr,
        )
        return 1
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for kind in ("figures", "summary", "precision"):
        for path in paths[kind]:
            print(f"{kind}: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m experiments.figures <experiment>|--all [--figure NAME ...]
    [--lang en|zh]``."""
    args = parse(sys.argv[1:] if argv is None else argv)
    if not args.all:
        return _one(args.experiment, args.figure, args.lang)
    experiments = stored_experiments()
    experiments += [e for e in TABLE_EXPERIMENTS if (experiment_dir(e) / "summary.json").exists()]
    if not experiments:
        print("error: no experiment has results in the output root; run one first", file=sys.stderr)
        return 1
    codes = [_one(name, args.figure, args.lang) for name in experiments]
    return max(codes)
