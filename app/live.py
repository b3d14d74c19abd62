"""A live run: the model built from the explorer's settings, and the network sample it shows."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Sequence
from dataclasses import dataclass

import sim
from app.network_view import SAMPLE_SIZE, NetworkSample
from sim.model import PartyBuildingModel


def _malloc_trim() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; else nothing)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = libc.malloc_trim if libc is not None else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return
    if trim is not None:
        trim(0)


def release_memory() -> None:
    """Free the runs no one holds any more, now, and return their memory to the system.

    A model and its Mesa agents refer to each other, so a dropped model is freed only by the
    cycle collector, whose full pass comes rarely: a model's bulk is numpy arrays, which do
    not count toward the collector's thresholds. Without this, every Reset left its old model
    in memory for an unknown time (about 18 MB a reset at 20,000 people, which grew without
    limit, and about 100 MB at 100,000). The page calls it after each Reset and when a session
    ends; it also frees the runs of sessions that ended before.
    """
    gc.collect()
    _malloc_trim()


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
