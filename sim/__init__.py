"""Grassroots party building as a system: an agent-based simulator on Mesa.

Three lines build and run a model::

    import sim
    cfg = sim.load_config(["policy=coverage", "model.people=2000"])
    frame = sim.simulate(cfg, rng=1)
"""

from sim.agents import Branch, Committee, Mass, Member, SocialOrg, WorkDepartment
from sim.model import PartyBuildingModel
from sim.outcomes import OUTCOME_COLUMNS, summarise_run
from sim.params import MODEL_VERSION, Config, ConfigError, ModelParams, PolicyParams, RunParams
from sim.simulate import simulate


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
