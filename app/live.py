"""A live run: the model built from the explorer's settings, and the network sample it shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sim
from app.network_view import SAMPLE_SIZE, NetworkSample
from sim.model import PartyBuildingModel


@dataclass(frozen=True, eq=False)
class LiveRun:
    """A model built through :func:`sim.load_config`, with its network sample.

    Attributes:
        model: The model; the page steps it.
        sample: The people the network view shows, and their layout.
        overrides: The Hydra overrides the model was built from (what the page shows as this
            run's config; the command line takes the same).
    """

    model: PartyBuildingModel
    sample: NetworkSample
    overrides: tuple[str, ...]

    @classmethod
    def build(cls, overrides: Sequence[str], sample_size: int = SAMPLE_SIZE) -> LiveRun:
        """Compose and validate the config, build the model and draw its sample.

        Raises:
            ConfigError: On any bad value, with the config's one-line message.
        """
        model = PartyBuildingModel.from_config(sim.load_config(list(overrides)))
        return cls(model, NetworkSample.draw(model, sample_size), tuple(overrides))
