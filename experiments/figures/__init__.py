"""Figures and their tables, drawn from results on disk (this package never simulates).

Usage::

    python -m experiments.figures default            # the figure(s) experiment `default` names
    python -m experiments.figures default --lang zh  # Chinese labels
    python -m experiments.figures --all              # every experiment (make figures)

Layout:

* :mod:`~experiments.figures.registry`: figures by name (:func:`figure` registers one,
  :func:`draw` draws one in the shared style ``paper.mplstyle``), and saving;
* :mod:`~experiments.figures.metrics`: each run's time series reduced to one number per outcome;
* :mod:`~experiments.figures.panels`: dot plots of levels and of paired differences from the
  reference, dodged lines and heatmaps of summarised metrics;
* :mod:`~experiments.figures.lang`: English or Chinese labels and the CJK font fallback;
* one module per family of figures: :mod:`~experiments.figures.scenarios` (policy packages),
  :mod:`~experiments.figures.subject_fusion`, :mod:`~experiments.figures.foundation_openness`,
  :mod:`~experiments.figures.four_dimensions` (the factorial), :mod:`~experiments.figures.crisis`;
* :mod:`~experiments.figures.cli`: the command line.

A figure function takes an :class:`~experiments.provenance.ExperimentRecord` (the runs and the
config each recorded) and returns a :class:`Drawing` with its levels, its headline paired
differences (whose achieved precision :func:`draw` adds) and its caption; every label and
caption comes from the record, never from today's config. Statistics come from
:mod:`experiments.stats`. A new figure is a function decorated with ``@figure("name")`` in a
family module imported below; an experiment draws it by setting ``experiment.figure: name``.
"""

from experiments.figures import (  # noqa: F401 (each module registers its figures)
    crisis,
    foundation_openness,
    four_dimensions,
    scenarios,
    subject_fusion,
)
from experiments.figures.cli import main, make_figures
from experiments.figures.registry import FIGURES, STYLE, Drawing, FigureError, draw, figure

__all__ = [
    "FIGURES",
    "STYLE",
    "Drawing",
    "FigureError",
    "draw",
    "figure",
    "foundation_openness",
    "main",
    "make_figures",
    "scenarios",
    "subject_fusion",
]
