"""Hydra sweeper that launches exactly the jobs ``experiments.run`` planned.

``experiments.run`` expands a sweep itself (grid and design rows), skips the runs that are
done or claimed, and writes the overrides of the remaining jobs to a JSON file; this sweeper
hands that list to whatever launcher is configured (``submitit_local``, ``slurm``, ...), so a
resumed sweep never passes a done run through the launcher. Hydra finds it because plugins
live in the ``hydra_plugins`` namespace; it is selected by ``hydra/sweeper=todo``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class TodoSweeper(Sweeper):
    """Launch the jobs listed in ``jobs_file`` (a JSON list of override lists) in one batch."""

    def __init__(self, jobs_file: str, params: Any = None, max_batch_size: Any = None) -> None:
        self.jobs_file = jobs_file
        self.launcher = None
        self.config: DictConfig | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: Sequence[str]) -> Any:
        jobs = json.loads(Path(self.jobs_file).read_text())
        assert self.launcher is not None
        return self.launcher.launch([list(j) for j in jobs], initial_job_idx=0)
