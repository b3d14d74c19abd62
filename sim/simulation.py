"""Run one configured simulation and return its tidy per-step table (``sim.simulate``)."""

from __future__ import annotations

import pandas as pd

from sim.model import PartyBuildingModel
from sim.params import Config


def simulate(cfg: Config, rng: int | None = None) -> pd.DataFrame:
    """Build the model from ``cfg``, run ``cfg.run.steps`` weeks and return one row per step.

    Args:
        cfg: a validated config (see :func:`sim.load_config`).
        rng: root seed; defaults to ``cfg.seed``.

    Returns:
        Columns ``step``, ``seed``, ``scenario`` and every outcome of ``sim.OUTCOME_COLUMNS``.
    """
    model = PartyBuildingModel.from_config(cfg, rng=rng)
    model.run_for(cfg.run.steps)
    frame = model.results()
    frame.insert(1, "seed", model.seed)
    frame.insert(2, "scenario", model.scenario_name)
    return frame
