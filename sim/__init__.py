"""Grassroots party building as a system: an agent-based simulator on Mesa.

Three lines build and run a model::

    import sim
    cfg = sim.load_config(["policy=coverage", "model.people=2000"])
    frame = sim.simulate(cfg, rng=1)

The model's modules (and Mesa) are imported on first use of a name that needs them, so that
``sim.params`` and ``sim.config`` load fast for tools that only read configs (the sweep
runner plans hundreds of runs without importing the model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.params import MODEL_VERSION, Config, ConfigError, ModelParams, PolicyParams, RunParams

if TYPE_CHECKING:
    from sim.agents import Branch, Committee, Mass, Member, SocialOrg, WorkDepartment
    from sim.model import PartyBuildingModel
    from sim.outcomes import OUTCOME_COLUMNS, summarise_run
    from sim.simulation import simulate

#: Names imported on first use, and the module each comes from.
_LAZY = {
    "Branch": "sim.agents",
    "Committee": "sim.agents",
    "Mass": "sim.agents",
    "Member": "sim.agents",
    "SocialOrg": "sim.agents",
    "WorkDepartment": "sim.agents",
    "PartyBuildingModel": "sim.model",
    "OUTCOME_COLUMNS": "sim.outcomes",
    "summarise_run": "sim.outcomes",
    "simulate": "sim.simulation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def load_config(overrides: list[str] | None = None, config_dir: str | None = None) -> Config:
    """Compose ``configs/`` with Hydra and validate it (see :mod:`sim.config`)."""
    from sim.config import load_config as _load

    return _load(overrides, config_dir=config_dir)


__all__ = [
    "Branch",
    "Committee",
    "Config",
    "ConfigError",
    "MODEL_VERSION",
    "Mass",
    "Member",
    "ModelParams",
    "OUTCOME_COLUMNS",
    "PartyBuildingModel",
    "PolicyParams",
    "RunParams",
    "SocialOrg",
    "WorkDepartment",
    "load_config",
    "simulate",
    "summarise_run",
]
