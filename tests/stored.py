"""Tiny stored experiments for tests that read results: real runs, written by the run store's
own writer (:func:`experiments.run.execute`), under a given output root."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from experiments.run import execute
from sim.config import load_configs

#: A small world with a call inside the horizon: quick to run, every outcome moves.
TINY = ["model.people=300", "run.steps=24", "model.crisis_start=14", "model.crisis_weeks=6"]


def store_experiment(
    root: Path, name: str, scenarios: Sequence[Sequence[str]], seeds: int = 2
) -> list[Path]:
    """Run each scenario's overrides on ``seeds`` seeds and store the results under ``root``.

    Args:
        root: The output root (``SIM_OUTPUT_ROOT``).
        name: The experiment's name.
        scenarios: One list of overrides per scenario (e.g. ``["policy=fusion"]``).
        seeds: Seeds per scenario.

    Returns:
        The result files written.
    """
    jobs = [
        [*TINY, *overrides, f"experiment.name={name}", f"seed={seed}"]
        for overrides in scenarios
        for seed in range(seeds)
    ]
    old = os.environ.get("SIM_OUTPUT_ROOT")
    os.environ["SIM_OUTPUT_ROOT"] = str(root)
    try:
        done = [execute(cfg) for cfg in load_configs(jobs)]
        bad = [d for d in done if d["state"] not in ("done", "skipped")]
        assert not bad, f"stored experiment {name}: {bad}"
        return [Path(d["path"]) for d in done]
    finally:
        if old is None:
            del os.environ["SIM_OUTPUT_ROOT"]
        else:
            os.environ["SIM_OUTPUT_ROOT"] = old
