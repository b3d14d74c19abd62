"""Run the simulator from the command line: one run, or a sweep of runs.

Usage::

    python -m experiments.run policy=coverage seed=3          # one run
    python -m experiments.run -m experiment=default           # the experiment's sweep
    python -m experiments.run -m policy=baseline,openness seed=0,1,2 model.people=2000
    python -m experiments.run -m experiment=default hydra/launcher=slurm   # on a cluster

Every override is Hydra syntax over ``configs/``. Before anything is written the command
expands the sweep itself (the experiment file's ``hydra.sweeper.params``, the command line's
sweeps and the experiment's sampling design, see :mod:`experiments.design`), validates every
job's config, and computes every run's id and result path (:mod:`experiments.results`). A bad
value ends the command with ``config error: <message>`` on stderr and exit status 2; an output
folder it cannot write, or bad launcher settings, with ``error: <message>`` and status 2.

Runs whose result is there and sound (row count and checksum verified) are skipped before
anything is launched, so a finished sweep returns in about two seconds; missing, failed and
damaged runs are done. Each run is claimed atomically before it starts (``experiments.store``),
so concurrent sweeps into one store never run the same run twice at once. A run that raises
is recorded as failed (error and traceback in ``outputs/<experiment>/status/``) and the sweep
goes on; the command then exits with status 1 and one line saying how many failed and how to
read the errors (``python -m experiments.status <experiment>``).

Launchers: ``hydra/launcher=local`` (the default) runs the jobs in this command's own pool of
``hydra.launcher.n_jobs`` processes (-1: every core) with a progress bar on a terminal and one
line per run otherwise; any other Hydra launcher (``slurm``, ``submitit_local``) gets exactly
the jobs still to do, through the ``todo`` sweeper (``hydra_plugins/sim_sweeper``). The output
root is ``outputs`` in the working directory, or ``$SIM_OUTPUT_ROOT``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from experiments import store
from experiments.design import design_overrides
from experiments.results import (
    REPO_ROOT,
    check_result,
    experiment_dir,
    git_state,
    make_provenance,
    remove_stale_temps,
    result_path,
    run_id,
    write_run,
)
from sim.config import (
    compose_config,
    composition_cache,
    expand_sweep,
    hydra_arguments,
    load_config,
    load_configs,
    to_config,
)
from sim.params import MODEL_VERSION, Config, ConfigError

#: Exit status for a configuration or usage error.
EXIT_CONFIG_ERROR = 2
#: Exit status when some runs failed.
EXIT_FAILED = 1
_INFO_FLAGS = ("help", "hydra_help", "shell_completion", "info", "experimental_rerun")
#: Launchers whose jobs run in this command's own process pool.
_LOCAL_LAUNCHERS = ("JoblibLauncher", "BasicLauncher")


class RunnerError(Exception):
    """A problem with the command's setting (not a config value); the message is one line."""


@dataclass
class Job:
    """One planned run: its config, the overrides that made it, its id and result file."""

    cfg: Config
    overrides: list[str]
    run: str
    path: Path
    design_row: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def experiment(self) -> str:
        return self.cfg.experiment.name

    @property
    def label(self) -> str:
        return f"{self.cfg.scenario} run={self.run} seed={self.cfg.seed}"


# --------------------------------------------------------------------------- planning


def check_arguments(argv: Sequence[str]) -> list[Config]:
    """Validate a command line before anything runs.

    Args:
        argv: The arguments after the program name.

    Returns:
        The validated config of every job that would run (empty for ``--help`` and the like).

    Raises:
        ConfigError: If any job's config is invalid; the message names key, value and range.
    """
    return [job.cfg for job in plan(argv)]


def plan(argv: Sequence[str]) -> list[Job]:
    """Every job of a command line: sweep and design expanded, configs validated, ids computed.

    Jobs that land on the same run and seed are listed once.

    Raises:
        ConfigError: On an invalid config (one line).
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
        job_overrides = [list(args.overrides)]
        configs = [load_config(args.overrides)]
    else:
        job_overrides = expand_sweep(args.overrides)
        configs = load_configs(job_overrides)
    rows: list[int | None] = [None] * len(configs)
    designs = {json.dumps(c.experiment.design, sort_keys=True) for c in configs}
    if designs != {"{}"}:
        if len(designs) > 1:
            raise ConfigError("experiment.design: differs between the jobs of one sweep")
        design = design_overrides(configs[0].experiment.design)
        job_overrides = [job + row for job in job_overrides for row in design]
        rows = [i for _ in configs for i in range(len(design))]
        configs = load_configs(job_overrides)
    jobs: dict[tuple[str, str, int], Job] = {}
    for cfg, overrides, row in zip(configs, job_overrides, rows, strict=True):
        rid = run_id(cfg)
        jobs.setdefault(
            (cfg.experiment.name, rid, cfg.seed),
            Job(cfg, list(overrides), rid, result_path(cfg), row),
        )
    return list(jobs.values())


def is_done(cfg: Config) -> bool:
    """Whether the run's result file exists and is sound (row count and checksum verified)."""
    return check_result(result_path(cfg), run_id(cfg)) is None


def _fixed(overrides: Sequence[str]) -> list[str]:
    """The overrides that are not sweeps (already parsed once by :func:`plan`)."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [o.input_line for o in parsed if not o.is_sweep_override()]


def launcher_settings(argv: Sequence[str]) -> tuple[str, int]:
    """(``"local"`` or the Hydra launcher's class name, number of local processes).

    Raises:
        RunnerError: On bad launcher settings (one line).
        ConfigError: If the launcher option is unknown.
    """
    fixed = _fixed(hydra_arguments(argv).overrides)
    launcher = compose_config(fixed, return_hydra_config=True).hydra.launcher
    target = str(launcher.get("_target_", ""))
    if not target.endswith(_LOCAL_LAUNCHERS):
        return target.rsplit(".", 1)[-1], 0
    n_jobs = launcher.get("n_jobs", 1)
    cores = os.cpu_count() or 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise RunnerError(
            f"hydra.launcher.n_jobs = {n_jobs!r}: must be a number of processes >= 1, "
            "or -1 for every core (-2 for all but one, ...)"
        )
    return "local", max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def check_writable(experiments: set[str]) -> None:
    """Fail with one line if an experiment's folder cannot be written, before any run.

    Raises:
        RunnerError: Naming the folder and the reason.
    """
    for name in sorted(experiments):
        folder = store.status_dir(name)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            where = exc.filename or folder
            raise RunnerError(
                f"cannot write results: {where}: {exc.strerror or exc}; make the output "
                "folder writable or set SIM_OUTPUT_ROOT to one that is"
            ) from None


def version_warnings(jobs: Sequence[Job]) -> list[str]:
    """Warnings when the store holds results of another model version or git commit."""
    notes = []
    commit, _ = git_state()
    for name in sorted({j.experiment for j in jobs}):
        index = store.read_index(name)
        if index.empty or "model_version" not in index.columns:
            continue
        done = index[index["status"] == "done"]
        other = done[done["model_version"].notna() & (done["model_version"] != MODEL_VERSION)]
        if len(other):
            versions = ", ".join(sorted(set(other["model_version"].astype(str))))
            notes.append(
                f"warning: {name}: {len(other)} stored runs were made by model version "
                f"{versions}; this is {MODEL_VERSION}, so they are not reused (new run ids)"
            )
        ours = {(j.run, j.cfg.seed) for j in jobs}
        mine = done[[(r, s) in ours for r, s in zip(done["run"], done["seed"], strict=True)]]
        if "git_commit" in mine.columns and commit != "unknown":
            old = mine[mine["git_commit"].notna() & (mine["git_commit"] != commit)]
            if len(old):
                commits = ", ".join(sorted({str(c)[:10] for c in old["git_commit"]}))
                notes.append(
                    f"warning: {name}: {len(old)} done runs of this sweep were made at git "
                    f"commit {commits} (now {commit[:10]}); they are kept, as their config and "
                    "model version match (delete them to redo)"
                )
    return notes


# --------------------------------------------------------------------------- running


def execute(
    cfg: Config, overrides: Sequence[str] = (), design_row: int | None = None
) -> dict[str, Any]:
    """Claim, simulate and write one run; record its status. Never raises for a model error.

    Args:
        cfg: The validated config of the run.
        overrides: The overrides that produced it (recorded in the status and provenance).
        design_row: The design row it comes from, if any.

    Returns:
        ``{"state": ...}``: ``done`` (with ``seconds``), ``failed`` (with ``error``),
        ``skipped`` (a sound result was there) or ``busy`` (another process holds the claim).
    """
    experiment, rid, seed = cfg.experiment.name, run_id(cfg), cfg.seed
    path = result_path(cfg)
    claim = store.try_claim(experiment, rid, seed)
    if claim is None:
        return {"state": "busy", "path": str(path)}
    with claim:
        if check_result(path, rid) is None:
            return {"state": "skipped", "path": str(path)}
        remove_stale_temps(path)  # left by a killed writer of this run
        commit, _ = git_state()
        record = {
            "run": rid,
            "seed": seed,
            "scenario": cfg.scenario,
            "experiment": experiment,
            "overrides": list(overrides),
            "design_row": design_row,
            "model_version": MODEL_VERSION,
            "git_commit": commit,
            "slurm_job": os.environ.get("SLURM_JOB_ID"),
            "path": str(path),
            "started": time.time(),
        }
        store.write_status(experiment, record | {"status": "running"})
        start = time.perf_counter()
        try:
            logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
            from sim import simulate  # imported only when there is work to do

            df = simulate(cfg, rng=seed)
            seconds = time.perf_counter() - start
            provenance = make_provenance(
                cfg.to_dict(),
                overrides=list(overrides),
                seconds=round(seconds, 3),
                design_row=design_row,
                host=store.host(),
            )
            write_run(df, path, provenance)
        except Exception as exc:  # noqa: BLE001 (a model error is data: record it, go on)
            seconds = time.perf_counter() - start
            fail = store.failure(exc)
            store.write_status(experiment, record | {"status": "failed", "seconds": seconds} | fail)
            return {"state": "failed", "path": str(path), "error": fail["error"]}
        store.write_status(experiment, record | {"status": "done", "seconds": round(seconds, 3)})
        return {"state": "done", "path": str(path), "seconds": seconds, "rows": len(df)}


def _execute_job(job: Job) -> dict[str, Any]:
    return execute(job.cfg, job.overrides, job.design_row)


class Progress:
    """A tqdm bar with done/failed counts on a terminal; one line per run otherwise."""

    def __init__(self, total: int) -> None:
        self.counts = {"done": 0, "failed": 0, "skipped": 0, "busy": 0}
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="run", file=sys.stderr, mininterval=0.5)
        self.total = total
        self.seen = 0

    def update(self, job: Job, result: dict[str, Any]) -> None:
        state = result["state"]
        self.counts[state] += 1
        self.seen += 1
        if self.bar is not None:
            self.bar.set_postfix(done=self.counts["done"], failed=self.counts["failed"])
            self.bar.update(1)
            if state == "failed":
                self.bar.write(f"failed: {job.label}: {result['error']}", file=sys.stderr)
            return
        head = f"[{self.seen}/{self.total}]"
        if state == "done":
            print(f"{head} wrote {result['path']} ({result['seconds']:.1f} s)", flush=True)
        elif state == "failed":
            print(f"{head} failed: {job.label}: {result['error']}", flush=True)
        elif state == "skipped":
            print(f"{head} skip: {result['path']} was done meanwhile", flush=True)
        else:
            print(f"{head} busy: {job.label} is being run by another sweep", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _record_crash(job: Job, exc: BaseException) -> dict[str, Any]:
    """Record as failed a run whose worker process died (crash, out of memory, killed)."""
    fail = store.failure(exc)
    fail["error"] = "its worker process died (crashed, out of memory or killed): " + fail["error"]
    store.write_status(
        job.experiment,
        {"run": job.run, "seed": job.cfg.seed, "scenario": job.cfg.scenario}
        | {"overrides": job.overrides, "status": "failed", "model_version": MODEL_VERSION}
        | fail,
    )
    return {"state": "failed", "error": fail["error"]}


def run_local(jobs: Sequence[Job], processes: int) -> list[dict[str, Any]]:
    """Run jobs in this process (one process or one job) or in a pool of worker processes.

    A worker that dies breaks the pool for every job in flight; those jobs are retried once
    in a fresh pool, and recorded as failed if their worker dies again.
    """
    progress = Progress(len(jobs))
    results: list[dict[str, Any]] = []
    try:
        if processes == 1 or len(jobs) == 1:
            for job in jobs:
                results.append(_execute_job(job))
                progress.update(job, results[-1])
            return results
        # Spawned workers: a fresh interpreter each (with this process's sys.path), so no
        # thread of this process (Arrow's pool) is copied into a fork; each imports the model
        # once and then runs many jobs.
        context = get_context("spawn")
        remaining, crashed_before = list(jobs), set()
        while remaining:
            retry = []
            workers = min(processes, len(remaining))
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                pending = {pool.submit(_execute_job, job): job for job in remaining}
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        job = pending.pop(future)
                        try:
                            result = future.result()
                        except BrokenProcessPool as exc:
                            key = (job.experiment, job.run, job.cfg.seed)
                            if key not in crashed_before:
                                crashed_before.add(key)
                                retry.append(job)
                                continue
                            result = _record_crash(job, exc)
                        results.append(result)
                        progress.update(job, result)
            remaining = retry
    finally:
        progress.close()
    return results


def run_hydra(argv: Sequence[str], jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """Hand the jobs to the configured Hydra launcher (SLURM, submitit_local, ...).

    Jobs that end without a result or a failure record (killed by SLURM for time or
    memory, node failure) are recorded as failed after the launcher returns.
    """
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # Hydra finds the todo sweeper in hydra_plugins/
    name = jobs[0].experiment
    todo = experiment_dir(name) / "hydra" / f"todo-{time.strftime('%Y%m%d-%H%M%S')}.json"
    todo.parent.mkdir(parents=True, exist_ok=True)
    todo.write_text(json.dumps([j.overrides for j in jobs]))
    fixed = _fixed(hydra_arguments(argv).overrides)
    sys.argv = [sys.argv[0], "-m", *fixed, "hydra/sweeper=todo", f"hydra.sweeper.jobs_file={todo}"]
    print(f"launching {len(jobs)} runs through {launcher_settings(argv)[0]}", flush=True)
    launch_error = None
    try:
        task()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 (Hydra exits on a failed job)
        launch_error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    results = []
    for job in jobs:
        problem = check_result(job.path, job.run)
        if problem is None:
            results.append({"state": "done", "path": str(job.path), "seconds": 0.0})
            continue
        status = store._read_json(store.status_path(job.experiment, job.run, job.cfg.seed))
        if status and status.get("status") == "failed":
            results.append({"state": "failed", "error": status.get("error")})
            continue
        if store.holder(job.experiment, job.run, job.cfg.seed) and not launch_error:
            results.append({"state": "busy"})
            continue
        # The launcher is done with this job, so a claim left on it is a dead job's.
        store.claim_path(job.experiment, job.run, job.cfg.seed).unlink(missing_ok=True)
        error = "the job ended without writing a result (killed by the scheduler?)"
        if launch_error:
            error += f"; launcher: {launch_error}"
        store.write_status(
            job.experiment,
            {"run": job.run, "seed": job.cfg.seed, "scenario": job.cfg.scenario}
            | {"overrides": job.overrides, "status": "failed", "error": error}
            | {"traceback": launch_error or "", "model_version": MODEL_VERSION},
        )
        results.append({"state": "failed", "error": error})
    return results


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def task(dcfg: DictConfig) -> dict[str, Any]:
    """Hydra's task function: validate, claim, simulate and write one run."""
    cfg = to_config(dcfg)
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return execute(cfg, overrides)


# --------------------------------------------------------------------------- command


def main(argv: Sequence[str] | None = None) -> int:
    """Plan the runs, skip what is done, run the rest, report.

    Args:
        argv: Arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 if every run is done, 1 if some failed, 2 on bad input.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with composition_cache():
            jobs = plan(argv)
            if jobs:
                launcher, processes = launcher_settings(argv)
        if jobs:
            check_writable({j.experiment for j in jobs})
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except RunnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if not jobs or hydra_arguments(argv).cfg:
        sys.argv = [sys.argv[0], *argv]  # --help, --cfg and the like: Hydra answers them
        task()
        return 0
    names = sorted({j.experiment for j in jobs})
    for name in names:
        store.tidy(name)  # claims and temporary files of killed processes
    todo, damaged = [], 0
    with ThreadPoolExecutor(8) as pool:  # reading and hashing release the GIL
        problems = list(pool.map(lambda j: check_result(j.path, j.run), jobs))
    for job, problem in zip(jobs, problems, strict=True):
        if problem is None:
            continue
        if problem != "missing":
            damaged += 1
            print(f"redo: {job.path}: {problem}", file=sys.stderr, flush=True)
        todo.append(job)
    for note in version_warnings(jobs):
        print(note, file=sys.stderr, flush=True)
    done = len(jobs) - len(todo)
    if not todo:
        what = "the run is" if len(jobs) == 1 else f"all {len(jobs)} runs are"
        print(f"{what} done (same config, verified); nothing to run", flush=True)
        if len(jobs) == 1:
            print(f"skip: {jobs[0].path}", flush=True)
    else:
        if len(jobs) > 1:
            scenarios = sorted({j.cfg.scenario for j in jobs})
            shown = ", ".join(scenarios[:8]) + (", ..." if len(scenarios) > 8 else "")
            print(
                f"{len(jobs)} runs ({len(scenarios)} scenarios: {shown}): {done} done, "
                f"{len(todo)} to do" + (f" ({damaged} damaged)" if damaged else ""),
                flush=True,
            )
        if launcher == "local":
            results = run_local(todo, processes)
        else:
            results = run_hydra(argv, todo)
        for name in names:
            store.write_index(name)
        failed = sum(r["state"] == "failed" for r in results)
        busy = sum(r["state"] == "busy" for r in results)
        if busy:
            print(f"{busy} runs were being run by another sweep; rerun later to check them")
        if failed:
            for name in names:
                print(f"results: {experiment_dir(name) / 'runs'}", flush=True)
            where = " ".join(f"python -m experiments.status {n}" for n in names)
            print(
                f"error: {failed} of {len(jobs)} runs failed; errors and tracebacks: {where}",
                file=sys.stderr,
                flush=True,
            )
            return EXIT_FAILED
    for name in names:
        print(f"results: {experiment_dir(name) / 'runs'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
