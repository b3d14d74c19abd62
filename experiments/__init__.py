"""Experiment runners: the command line, result files with provenance, and figures.

``experiments.run`` owns the command line and output folders, ``experiments.results`` reads and
writes Parquet result files, ``experiments.provenance`` says what those files recorded,
``experiments.stats`` holds the statistics (t-intervals, paired differences), and
``experiments.figures`` draws figures from those files only.
"""
