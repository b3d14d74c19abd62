"""Run the simulator from the command line: one run, or a sweep of runs.

Usage::

    python -m experiments.run policy=coverage seed=3          # one run
    python -m experiments.run -m experiment=default           # the experiment's sweep
    python -m experiments.run -m policy=baseline,openness seed=0,1,2 model.people=2000

Every override is Hydra syntax over ``configs/``. Before Hydra starts (so before anything is
written, not even Hydra's own ``.hydra`` folder) the overrides are checked: for a single run
the config is composed and validated; for a multirun (``-m``) the sweep, including the sweep
parameters of the experiment file, is expanded and every job's config is validated. A bad
value ends the command with ``config error: <message>`` on stderr and exit status 2.

Each run writes ``<root>/<experiment>/runs/<scenario>/seed=<seed>.parquet`` atomically, with
provenance in the file's metadata; a result that exists for the same config is skipped. The
root is ``outputs`` in the working directory, or ``$SIM_OUTPUT_ROOT``.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from experiments.results import (
    config_hash,
    experiment_dir,
    make_provenance,
    read_provenance,
    remove_stale_temps,
    run_path,
    write_run,
)
from sim.config import expand_sweep, hydra_arguments, load_config, load_configs, to_config
from sim.params import Config, ConfigError

#: Exit status for a configuration error (as for a usage error).
EXIT_CONFIG_ERROR = 2
_INFO_FLAGS = ("help", "hydra_help", "shell_completion", "info", "experimental_rerun")


def check_arguments(argv: Sequence[str]) -> list[Config]:
    """Validate a command line before Hydra runs it.

    Args:
        argv: The arguments after the program name.

    Returns:
        The validated config of every job that would run (empty for ``--help`` and the like).

    Raises:
        ConfigError: If any job's config is invalid; the message names key, value and range.
    """
    args = hydra_arguments(argv)
    if any(getattr(args, flag, None) for flag in _INFO_FLAGS):
        return []
    if args.config_path or args.config_name or args.config_dir:
        raise ConfigError(
            "--config-path/--config-name/--config-dir: not supported; the configs are in "
            "configs/ (add an option file to a group there)"
        )
    if not args.multirun:
        return [load_config(args.overrides)]
    return load_configs(expand_sweep(args.overrides))


def is_done(cfg: Config) -> bool:
    """Whether the run's result file exists and was made with the same config."""
    path = run_path(cfg.experiment.name, cfg.scenario, cfg.seed)
    if not path.exists():
        return False
    old = read_provenance(path)
    return bool(old) and old.get("config_hash") == config_hash(cfg.to_dict())


def run_one(cfg: Config, overrides: Sequence[str] = ()) -> str:
    """Simulate one validated config and write its result file, unless it is already there.

    Args:
        cfg: The validated config of the run.
        overrides: The command-line overrides that produced it (recorded in the provenance).

    Returns:
        The result file's path.
    """
    path = run_path(cfg.experiment.name, cfg.scenario, cfg.seed)
    remove_stale_temps(path)
    config = cfg.to_dict()
    if is_done(cfg):
        print(f"skip: {path} is done (same config)", flush=True)
        return str(path)
    if path.exists():
        print(f"replacing {path}: it was made with another config", flush=True)
    from sim import simulate  # the model is imported only when there is work to do

    start = time.perf_counter()
    df = simulate(cfg, rng=cfg.seed)
    seconds = time.perf_counter() - start
    provenance = make_provenance(config, overrides=list(overrides), seconds=round(seconds, 3))
    write_run(df, path, provenance)
    print(f"wrote {path} ({len(df)} steps, {seconds:.1f} s)", flush=True)
    return str(path)


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def task(dcfg: DictConfig) -> str:
    """Hydra's task function: validate, simulate and write one run."""
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    cfg = to_config(dcfg)
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return run_one(cfg, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the command line, then hand it to Hydra.

    Args:
        argv: Arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        configs = check_arguments(argv)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if not configs or hydra_arguments(argv).cfg:
        sys.argv = [sys.argv[0], *argv]  # --help, --cfg and the like: Hydra answers them
        task()
        return 0
    if all(is_done(c) for c in configs):
        for cfg in configs:
            print(f"skip: {run_path(cfg.experiment.name, cfg.scenario, cfg.seed)} is done")
        print(f"all {len(configs)} runs are done (same config); nothing to run")
    else:
        if len(configs) > 1:
            scenarios = sorted({c.scenario for c in configs})
            todo = sum(not is_done(c) for c in configs)
            print(
                f"{len(configs)} runs ({len(scenarios)} scenarios: {', '.join(scenarios)}), "
                f"{todo} to do; results that exist for the same config are skipped",
                flush=True,
            )
        sys.argv = [sys.argv[0], *argv]
        task()
    for name in sorted({c.experiment.name for c in configs}):
        print(f"results: {experiment_dir(name) / 'runs'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
