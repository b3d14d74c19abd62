"""Where a sweep stands: done, failed, running and missing runs, and every failure's error.

Usage::

    python -m experiments.status smoke                       # the experiment's own sweep
    python -m experiments.status smoke model.people=300      # the sweep with these overrides
    python -m experiments.status smoke --traceback           # failures with full tracebacks

The sweep is planned exactly as ``python -m experiments.run -m experiment=<name> <overrides>``
would plan it; each run is then ``done`` (its result file is sound: row count and checksum
verified), ``failed`` (its status record says so; error shown), ``running`` (a live claim holds
it), ``damaged`` (a result file that fails verification) or ``missing``. Results of the store
that are not part of the planned sweep are counted as ``other``. Rerunning the sweep command
redoes everything but ``done`` and ``running``. Exit status 0 if all runs are done, 1 if not,
2 on bad input. The aggregate also goes to ``outputs/<name>/index.csv``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from experiments import store
from experiments.results import check_result, experiment_dir, result_files
from experiments.run import plan
from sim.params import ConfigError


def summarise(name: str, overrides: Sequence[str] = ()) -> tuple[dict[str, list], int]:
    """Each planned run's state and how many stored results lie outside the plan.

    Returns:
        ``({state: [(job, detail), ...]}, other)``.
    """
    jobs = plan(["-m", f"experiment={name}", *overrides])
    index = store.read_index(name)
    records = {(r["run"], r["seed"]): r for r in index.to_dict("records")}
    states: dict[str, list] = {k: [] for k in ("done", "failed", "running", "damaged", "missing")}
    for job in jobs:
        problem = check_result(job.path, job.run)
        record = records.get((job.run, job.cfg.seed)) or {}
        if problem is None:
            states["done"].append((job, record))
        elif store.holder(name, job.run, job.cfg.seed):
            states["running"].append((job, record))
        elif record.get("status") == "failed":
            states["failed"].append((job, record))
        elif problem != "missing":
            states["damaged"].append((job, {"error": problem}))
        else:
            states["missing"].append((job, record))
    planned = {job.path.resolve() for job in jobs}
    other = sum(p.resolve() not in planned for p in result_files(experiment_dir(name) / "runs"))
    return states, other


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary of an experiment's sweep and list its failures."""
    parser = argparse.ArgumentParser(prog="python -m experiments.status", description=__doc__)
    parser.add_argument("experiment")
    parser.add_argument("overrides", nargs="*", help="overrides, as given to experiments.run")
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks")
    args = parser.parse_args(argv)
    try:
        states, other = summarise(args.experiment, args.overrides)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    total = sum(len(v) for v in states.values())
    counts = ", ".join(f"{len(v)} {k}" for k, v in states.items())
    more = f"; {other} other results" if other else ""
    print(f"{args.experiment}: {total} runs: {counts}{more}")
    for job, record in states["failed"]:
        where = f" on {record.get('host')}" if record.get("host") else ""
        print(f"failed: {job.label}{where}: {record.get('error')}")
        print(f"  overrides: {' '.join(job.overrides)}")
        if args.traceback and record.get("traceback"):
            print("  " + str(record["traceback"]).rstrip().replace("\n", "\n  "))
    for job, record in states["damaged"]:
        print(f"damaged: {job.path}: {record['error']}")
    for job, _ in states["running"]:
        holder = store.holder(args.experiment, job.run, job.cfg.seed) or {}
        print(f"running: {job.label} on {holder.get('host')} (pid {holder.get('pid')})")
    if states["failed"] and not args.traceback:
        print(f"tracebacks: python -m experiments.status {args.experiment} --traceback")
    if len(states["done"]) < total:
        command = " ".join(["python -m experiments.run -m", f"experiment={args.experiment}"])
        print(f"resume: {command} {' '.join(args.overrides)}".rstrip())
    try:
        store.write_index(args.experiment)
    except OSError:
        pass  # a read-only store can still be inspected
    return 0 if len(states["done"]) == total else 1


if __name__ == "__main__":
    sys.exit(main())
