"""Performance benchmark (DESIGN §9): measures the model and prints each target with PASS/FAIL.

Targets (DESIGN §9):

* at most 200 ns per person-step at 100,000 and at 1,000,000 people (a step is the mean over a
  260-week run with the default call: ordinary weeks and call weeks weighted);
* at least 20x faster per person-step than a naive per-agent Mesa loop on the same network;
* 1,000,000 people built in under 3 s;
* 1,000,000 people x 260 weeks in under a minute on one core;
* 5,000,000 people within 8 GB.

Every size runs in its own child process, single-threaded, so its peak memory is its own. Times
are wall-clock, best of several repeats; other work on the machine inflates them, so the load
average is printed with each size and a busy machine is flagged. Also printed, for reference:
the *bare kernel* (two sparse matrix-vector products and a threshold update on the model's own
influence network, the floor for a step) and the naive loop's own cost. The benchmark asserts
nothing and is not part of the tests.

Usage:
    python -m experiments.benchmark                    # 100,000 and 1,000,000 people
    python -m experiments.benchmark --sizes 10000      # other sizes (targets apply at 100,000
                                                       # and 1,000,000)
    python -m experiments.benchmark --full-million     # also time 260 weeks at 1,000,000
    python -m experiments.benchmark --five-million     # also build and step 5,000,000 (memory)
    python -m experiments.benchmark --profile          # where a step's time goes, by mechanism
    python -m experiments.benchmark --sweep            # sweep throughput: 200 runs of 3,000
                                                       # people x 104 weeks (--sweep-runs N)

The sweep benchmark (DESIGN §9; the resume, §10) runs the real command,
``python -m experiments.run -m ...``, over all cores into a temporary store, and reports runs
per minute and the share of the workers' time spent outside the simulation itself (start-up,
planning, claims, writing, status; target at most 20%), then reruns the finished sweep to time
a resume that has nothing to do.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import mesa
import numpy as np

from sim.model import PartyBuildingModel
from sim.params import ModelParams, PolicyParams

#: DESIGN §9 targets.
MAX_NS_PER_PERSON_STEP = 200.0
MIN_SPEEDUP_OVER_NAIVE = 20.0
MAX_BUILD_S_MILLION = 3.0
MAX_RUN_S_MILLION = 60.0
MAX_GB_FIVE_MILLION = 8.0
#: Sizes the per-step targets apply at.
TARGET_SIZES = (100_000, 1_000_000)
MILLION, FIVE_MILLION = 1_000_000, 5_000_000
WEEKS = 260
#: Target share of a sweep's worker time spent outside the simulation (DESIGN §9).
MAX_OUTSIDE_SHARE = 0.20
#: Environment of the child processes: one thread for any numeric library (one core).
OUTPUT_ROOT = "SIM_OUTPUT_ROOT"
ONE_CORE = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def best_time(fn: Callable[[], object], calls: int, repeats: int = 3) -> float:
    """Wall seconds per call of ``fn``: the best of ``repeats`` means over ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t) / calls)
    return best


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def build(people: int, call: bool = False) -> PartyBuildingModel:
    """A default model; without a call in sight unless ``call``."""
    params = ModelParams(people=people) if call else ModelParams(people=people, crisis_start=-1)
    return PartyBuildingModel(params, PolicyParams(), rng=1)


def switch_call_on(model: PartyBuildingModel) -> None:
    """A mobilization call from next week on, for timing call weeks."""
    model.params = model.params.replace(crisis_start=model.week + 1, crisis_weeks=1000)


def bare_kernel_seconds(model: PartyBuildingModel) -> float:
    """Two sparse mat-vecs and a threshold update on the model's influence network."""
    a = model.ops.influence.adjacency
    deg = np.maximum(model.ops.influence.degree, 1).astype(np.float32)
    x = model.state.people.identification.copy()
    theta = model.state.people.threshold.astype(np.float32)
    active = (np.random.default_rng(0).random(x.size) < 0.1).astype(np.float32)

    def kernel() -> None:
        view = (a @ x) / deg
        share = (a @ active) / deg
        active[:] = view + share > theta

    return best_time(kernel, 20)


class _NaiveAgent(mesa.Agent):
    """What a typical Mesa user writes: neighbours in a list, one update per agent."""

    def __init__(self, model: mesa.Model, x: float, theta: float):
        super().__init__(model)
        self.x = x
        self.theta = theta
        self.active = False
        self.neighbours: list[_NaiveAgent] = []

    def step(self) -> None:
        if self.neighbours:
            view = sum(n.x for n in self.neighbours) / len(self.neighbours)
            share = sum(n.active for n in self.neighbours) / len(self.neighbours)
            self.x = 0.5 * self.x + 0.5 * view
            self.active = view + share > self.theta


def naive_loop_ns(model: PartyBuildingModel, sample: int = 20_000) -> float:
    """ns per agent-step of a per-agent Mesa loop on (a subsample of) the same network.

    The subsample keeps the first ``sample`` people and the ties among them; the time is scaled
    up by the full network's mean degree over the subsample's, so it stands for the full one.
    """
    a = model.ops.influence.adjacency
    n = min(sample, a.shape[0])
    sub = a[:n][:, :n].tocsr()
    m = mesa.Model(rng=0)
    agents = [
        _NaiveAgent(
            m, float(model.state.people.identification[i]), float(model.state.people.threshold[i])
        )
        for i in range(n)
    ]
    for i, ag in enumerate(agents):
        ag.neighbours = [agents[j] for j in sub.indices[sub.indptr[i] : sub.indptr[i + 1]]]
    per = best_time(lambda: m.agents.do("step"), 2) / n
    scale = (a.nnz / a.shape[0]) / max(sub.nnz / n, 1e-9)
    return per * 1e9 * max(scale, 1.0)


def step_seconds(model: PartyBuildingModel) -> tuple[float, float]:
    """(ordinary week, week with a call) in seconds, best of three, after a warm-up."""
    model.run_for(3)  # warm caches
    n = model.state.people.n
    calls = 3 if n >= 2_000_000 else 10 if n >= 500_000 else 30
    plain = best_time(model.step, calls)
    switch_call_on(model)
    return plain, best_time(model.step, max(calls // 3, 3))


def measure(people: int, build_repeats: int = 3, naive: bool = True) -> dict[str, float]:
    """Build a default model and time its parts (run in a child process)."""
    load_before = os.getloadavg()[0]
    build_s, model = float("inf"), None
    for _ in range(build_repeats):
        model = None
        gc.collect()  # agents and model refer to each other: free the last build first
        t = time.perf_counter()
        model = build(people)
        build_s = min(build_s, time.perf_counter() - t)
    plain, call = step_seconds(model)
    call_weeks = ModelParams().crisis_weeks
    step = (plain * (WEEKS - call_weeks) + call * call_weeks) / WEEKS
    kernel = bare_kernel_seconds(model)
    out = {
        "people": people,
        "edges": int(model.ops.influence.adjacency.nnz),
        "build_s": build_s,
        "plain_step_s": plain,
        "call_step_s": call,
        "step_s": step,
        "ns_per_person_step": step / people * 1e9,
        "bare_kernel_s": kernel,
        "run_260_estimate_s": step * WEEKS,
    }
    if naive:
        out["naive_ns"] = naive_loop_ns(model)
        out["speedup_over_naive"] = out["naive_ns"] / out["ns_per_person_step"]
    out["peak_rss_gb"] = peak_rss_gb()
    out["load"] = [load_before, os.getloadavg()[0]]
    return out


def full_run_seconds(people: int) -> float:
    """Wall seconds of a default 260-week run (with its call), build excluded."""
    model = build(people, call=True)
    t = time.perf_counter()
    model.run_for(WEEKS)
    return time.perf_counter() - t


# --------------------------------------------------------------------------- profile


def mechanism_modules() -> dict[str, ModuleType]:
    """The mechanism modules whose ``step`` the model calls, by short name."""
    import sim.model

    return {
        name: module
        for name, module in vars(sim.model).items()
        if isinstance(module, ModuleType)
        and module.__name__.startswith("sim.mechanisms.")
        and callable(getattr(module, "step", None))
    }


def profile_step(people: int, weeks: int = 10) -> dict[str, dict[str, float]]:
    """Wall seconds per step spent in each mechanism, the model's own work and recording.

    Wraps, for this process only, each mechanism's ``step`` and the model's ``_apply`` (Mesa
    agents and operators after events) and ``record`` (outcomes), then runs ``weeks`` ordinary
    weeks and ``weeks`` call weeks.
    """
    spent: dict[str, float] = {}

    def timed(name: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    modules = mechanism_modules()
    originals = {name: module.step for name, module in modules.items()}
    try:
        for name, module in modules.items():
            module.step = timed(name, module.step)
        model = build(people)
        model.record = timed("(record outcomes)", model.record)
        model._apply = timed("(apply events)", model._apply)
        model.run_for(3)
        out = {}
        for label in ("ordinary", "call"):
            if label == "call":
                switch_call_on(model)
            spent.clear()
            t = time.perf_counter()
            model.run_for(weeks)
            total = time.perf_counter() - t
            out[label] = {k: v / weeks for k, v in spent.items()}
            out[label]["(other)"] = (total - sum(spent.values())) / weeks
            out[label]["(total step)"] = total / weeks
        return out
    finally:
        for name, module in modules.items():
            module.step = originals[name]


def _print_profile(people: int, prof: dict[str, dict[str, float]]) -> None:
    print(f"\n== where a step's time goes, {people:,} people (wall ms per step, ns per person)")
    print(f"  {'':22s} {'ordinary week':>22s}   {'week with a call':>22s}")
    names = sorted(prof["call"], key=lambda k: -prof["call"][k])
    names = [k for k in names if not k.startswith("(")]
    for k in [*names, "(apply events)", "(record outcomes)", "(other)", "(total step)"]:
        cells = []
        for label in ("ordinary", "call"):
            s = prof[label].get(k, 0.0)
            cells.append(f"{s * 1e3:9.2f} ms {s / people * 1e9:6.0f} ns")
        print(f"  {k:22s} {cells[0]:>22s}   {cells[1]:>22s}")


# --------------------------------------------------------------------------- report


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _print_size(r: dict) -> None:
    n = r["people"]
    lo, hi = r["load"]
    busy = "  (busy machine: times inflated)" if max(lo, hi) > 1.0 else ""
    print(f"\n== {n:,} people ({r['edges']:,} directed ties); load {lo:.1f} -> {hi:.1f}{busy}")
    print(f"  world build            {r['build_s']:8.2f} s")
    print(
        f"  step (260-week mean)   {r['step_s'] * 1e3:8.2f} ms   (ordinary "
        f"{r['plain_step_s'] * 1e3:.2f} ms, call week {r['call_step_s'] * 1e3:.2f} ms)"
    )
    print(f"  per person-step        {r['ns_per_person_step']:8.0f} ns")
    print(
        f"  bare kernel            {r['bare_kernel_s'] * 1e3:8.2f} ms   "
        f"step / kernel = {r['step_s'] / r['bare_kernel_s']:.1f}x"
    )
    if "naive_ns" in r:
        print(
            f"  naive Mesa loop        {r['naive_ns']:8.0f} ns per agent-step   "
            f"model is {r['speedup_over_naive']:.1f}x faster"
        )
    if "run_260_s" in r:
        print(f"  260 weeks              {r['run_260_s']:8.1f} s")
    else:
        print(f"  260 weeks (estimate)   {r['run_260_estimate_s']:8.1f} s   (from the step)")
    print(f"  peak memory            {r['peak_rss_gb']:8.2f} GB")


def targets(results: dict[int, dict]) -> list[tuple[bool, str]]:
    """Each DESIGN §9 target the results can speak to: (met, line to print)."""
    rows = []
    for n in TARGET_SIZES:
        if n in results:
            ns = results[n]["ns_per_person_step"]
            rows.append((ns <= MAX_NS_PER_PERSON_STEP, f"{ns:.0f} ns per person-step at {n:,}"))
    for n, r in sorted(results.items()):
        if n in TARGET_SIZES and "speedup_over_naive" in r:
            x = r["speedup_over_naive"]
            rows.append((x >= MIN_SPEEDUP_OVER_NAIVE, f"{x:.2f}x the naive Mesa loop at {n:,}"))
    if MILLION in results:
        r = results[MILLION]
        rows.append(
            (r["build_s"] < MAX_BUILD_S_MILLION, f"1,000,000 built in {r['build_s']:.2f} s")
        )
        run = r.get("run_260_s", r["run_260_estimate_s"])
        how = "" if "run_260_s" in r else " (estimated from the step; --full-million times it)"
        rows.append((run < MAX_RUN_S_MILLION, f"1,000,000 x 260 weeks in {run:.1f} s{how}"))
    if FIVE_MILLION in results:
        gb = results[FIVE_MILLION]["peak_rss_gb"]
        rows.append((gb <= MAX_GB_FIVE_MILLION, f"5,000,000 people in {gb:.2f} GB"))
    return rows


def _print_targets(results: dict[int, dict], five_million: bool) -> None:
    print("\n== DESIGN §9 targets")
    print(
        f"  (<= {MAX_NS_PER_PERSON_STEP:.0f} ns per person-step at 100,000 and 1,000,000; "
        f">= {MIN_SPEEDUP_OVER_NAIVE:.0f}x the naive loop;\n   1,000,000 built in < "
        f"{MAX_BUILD_S_MILLION:.0f} s and run 260 weeks in < {MAX_RUN_S_MILLION:.0f} s; "
        f"5,000,000 within {MAX_GB_FIVE_MILLION:.0f} GB)"
    )
    for ok, line in targets(results):
        print(f"  [{_verdict(ok)}] {line}")
    if not five_million:
        print("  [----] 5,000,000 within 8 GB: not measured (--five-million)")


def _run_child(people: int, args: list[str]) -> dict:
    """Measure one size in a fresh single-threaded child process; its JSON result."""
    cmd = [sys.executable, "-m", "experiments.benchmark", "--child", str(people), *args]
    env = {**os.environ, **ONE_CORE}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"benchmark: the {people:,}-person child failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(people: int, full: bool, repeats: int) -> None:
    if people >= FIVE_MILLION:
        r = measure(people, build_repeats=1, naive=False)
    else:
        r = measure(people, build_repeats=repeats)
    if full:
        r["run_260_s"] = full_run_seconds(people)
        r["peak_rss_gb"] = peak_rss_gb()
    print(json.dumps(r))


def sweep_benchmark(runs: int, people: int, weeks: int, jobs: int) -> dict[str, float]:
    """Time a sweep of ``runs`` runs through ``experiments.run`` and a resume of it.

    Args:
        runs: Runs (seeds of one scenario).
        people: People per run.
        weeks: Weeks per run.
        jobs: Worker processes (-1: every core).

    Returns:
        ``wall_s``, ``runs_per_min``, ``simulate_s`` (sum over runs), ``workers``,
        ``outside_share`` and ``resume_s``.
    """
    from experiments.results import output_root, read_provenance, result_files

    workers = min(runs, os.cpu_count() or 1) if jobs < 0 else min(runs, jobs)
    args = [sys.executable, "-m", "experiments.run", "-m", "experiment=smoke"]
    args += [f"seed=range({runs})", "policy=baseline", f"model.people={people}"]
    args += [f"run.steps={weeks}", "experiment.name=bench_sweep", f"hydra.launcher.n_jobs={jobs}"]
    repo = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory(prefix="sim-sweep-bench-") as tmp:
        env = {**os.environ, "SIM_OUTPUT_ROOT": tmp, **ONE_CORE}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, cwd=tmp)
        wall = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, cwd=tmp)
        resume = time.perf_counter() - start
        os.environ[OUTPUT_ROOT] = tmp
        try:
            files = result_files(output_root() / "bench_sweep" / "runs")
            simulate = sum(float(read_provenance(f)["seconds"]) for f in files)
        finally:
            del os.environ[OUTPUT_ROOT]
    return {
        "runs": len(files),
        "wall_s": wall,
        "runs_per_min": len(files) / wall * 60,
        "simulate_s": simulate,
        "workers": workers,
        "outside_share": 1 - simulate / (wall * workers),
        "resume_s": resume,
    }


def _print_sweep(r: dict[str, float], people: int, weeks: int) -> None:
    print(
        f"sweep: {r['runs']:.0f} runs of {people:,} people x {weeks} weeks on "
        f"{r['workers']:.0f} workers in {r['wall_s']:.1f} s: {r['runs_per_min']:.1f} runs/min"
    )
    print(
        f"  simulation {r['simulate_s']:.1f} s of {r['wall_s'] * r['workers']:.1f} worker-s; "
        f"outside the simulation {r['outside_share']:.0%} (target <= {MAX_OUTSIDE_SHARE:.0%}) "
        f"{_verdict(r['outside_share'] <= MAX_OUTSIDE_SHARE)}"
    )
    print(f"  resume of the finished sweep (nothing to do): {r['resume_s']:.2f} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000], help="sizes to measure")
    ap.add_argument(
        "--million", type=int, default=MILLION, help="the large size (0: skip)", metavar="N"
    )
    ap.add_argument("--full-million", action="store_true", help="time 260 weeks at the large size")
    ap.add_argument("--five-million", action="store_true", help="measure 5,000,000 people")
    ap.add_argument("--repeats", type=int, default=3, help="builds per size (best is kept)")
    ap.add_argument("--profile", action="store_true", help="per-mechanism step profile")
    ap.add_argument("--sweep", action="store_true", help="sweep throughput only (DESIGN §9-10)")
    ap.add_argument("--sweep-runs", type=int, default=200, metavar="N", help="runs of the sweep")
    ap.add_argument("--sweep-people", type=int, default=3000, metavar="N")
    ap.add_argument("--sweep-weeks", type=int, default=104, metavar="N")
    ap.add_argument("--sweep-jobs", type=int, default=-1, metavar="N", help="-1: every core")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.sweep:
        print(f"benchmark: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        r = sweep_benchmark(args.sweep_runs, args.sweep_people, args.sweep_weeks, args.sweep_jobs)
        _print_sweep(r, args.sweep_people, args.sweep_weeks)
        return
    if args.child:
        _child(args.child, args.full_million, args.repeats)
        return
    print(f"benchmark: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    results: dict[int, dict] = {}
    plan = [(n, []) for n in args.sizes]
    if args.million:
        plan.append((args.million, ["--full-million"] if args.full_million else []))
    if args.five_million:
        plan.append((FIVE_MILLION, []))
    for n, extra in plan:
        results[n] = _run_child(n, [*extra, "--repeats", str(args.repeats)])
        _print_size(results[n])
    if args.profile:
        for n in args.sizes:
            _print_profile(n, profile_step(n))
    _print_targets(results, args.five_million)


if __name__ == "__main__":
    main()
