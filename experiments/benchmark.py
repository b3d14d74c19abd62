"""Performance benchmark (DESIGN §9): prints numbers, asserts nothing.

For each population size it reports world-build seconds, seconds per step (ordinary weeks and
weeks with a mobilization call, and the average over a 260-week run with the default call),
nanoseconds per person-step, and the ratio of a step to the *bare kernel* timed in the same
process on the same network: two sparse matrix-vector products and an elementwise threshold
update. A straightforward per-agent Mesa loop doing only an opinion and a threshold update is
timed on the same network (on a subsample at large sizes) for comparison. The largest size runs
in a child process so its peak memory is its own.

Usage:
    python -m experiments.benchmark                 # 10,000 and 100,000, then 1,000,000
    python -m experiments.benchmark --sizes 10000   # just one size
    python -m experiments.benchmark --full-million  # also run 260 weeks at 1,000,000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import mesa
import numpy as np

from sim.model import PartyBuildingModel
from sim.params import ModelParams, PolicyParams


def _time(fn, repeats: int) -> float:
    """Best-of-three mean seconds per call of ``fn`` over ``repeats`` calls."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t) / repeats)
    return best


def bare_kernel_seconds(model: PartyBuildingModel) -> float:
    """Two sparse mat-vecs and a threshold update on the model's influence network."""
    a = model.ops.influence.adjacency
    deg = np.maximum(model.ops.influence.degree, 1).astype(np.float32)
    x = model.people.x.copy()
    theta = model.people.threshold.astype(np.float32)
    active = (model.rng.random(x.size) < 0.1).astype(np.float32)

    def kernel() -> None:
        view = (a @ x) / deg
        share = (a @ active) / deg
        active[:] = view + share > theta

    return _time(kernel, 20)


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
    """ns per agent-step of a per-agent Mesa loop on (a subsample of) the same network."""
    a = model.ops.influence.adjacency
    n = min(sample, a.shape[0])
    sub = a[:n][:, :n].tocsr()
    m = mesa.Model(rng=0)
    agents = [
        _NaiveAgent(m, float(model.people.x[i]), float(model.people.threshold[i])) for i in range(n)
    ]
    for i, ag in enumerate(agents):
        ag.neighbours = [agents[j] for j in sub.indices[sub.indptr[i] : sub.indptr[i + 1]]]
    # keep the degree comparable to the full network's
    per = _time(lambda: m.agents.do("step"), 2) / n
    scale = (a.nnz / a.shape[0]) / max(sub.nnz / n, 1e-9)
    return per * 1e9 * max(scale, 1.0)


def measure(people: int, naive: bool = True) -> dict[str, float]:
    """Build a default model and time its parts."""
    params = ModelParams(people=people, crisis_start=10_000)  # no call while timing plain weeks
    t = time.perf_counter()
    model = PartyBuildingModel(params, PolicyParams(), rng=1)
    build = time.perf_counter() - t
    model.run_for(3)  # warm caches
    steps = 10 if people >= 500_000 else 30
    plain = _time(model.step, steps)
    # weeks with a call: switch the call on for the timing
    model.params = model.params.replace(crisis_start=model.week + 1, crisis_weeks=1000)
    call = _time(model.step, max(steps // 3, 3))
    d = ModelParams()
    average = (plain * (260 - d.crisis_weeks) + call * d.crisis_weeks) / 260
    kernel = bare_kernel_seconds(model)
    out = {
        "people": people,
        "build_s": build,
        "step_s": average,
        "plain_step_s": plain,
        "call_step_s": call,
        "ns_per_person_step": average / people * 1e9,
        "bare_kernel_s": kernel,
        "step_over_kernel": average / kernel,
        "edges": int(model.ops.influence.adjacency.nnz),
    }
    if naive:
        out["naive_mesa_ns_per_agent_step"] = naive_loop_ns(model)
        out["speedup_over_naive"] = out["naive_mesa_ns_per_agent_step"] / out["ns_per_person_step"]
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return out


def _print(r: dict[str, float]) -> None:
    print(f"\n== {r['people']:,} people ({r['edges']:,} directed ties)")
    print(f"  world build            {r['build_s']:8.2f} s")
    print(
        f"  step (260-week mean)   {r['step_s'] * 1e3:8.2f} ms   "
        f"(ordinary {r['plain_step_s'] * 1e3:.2f} ms, call week {r['call_step_s'] * 1e3:.2f} ms)"
    )
    print(f"  per person-step        {r['ns_per_person_step']:8.0f} ns   (target <= 250 ns)")
    print(
        f"  bare kernel            {r['bare_kernel_s'] * 1e3:8.2f} ms   "
        f"step / kernel = {r['step_over_kernel']:.1f}x (target <= 10x)"
    )
    if "naive_mesa_ns_per_agent_step" in r:
        print(
            f"  naive Mesa loop        {r['naive_mesa_ns_per_agent_step']:8.0f} ns per agent-step"
            f"   model is {r['speedup_over_naive']:.1f}x faster (target >= 10x)"
        )
    if "run_260_s" in r:
        print(f"  260 weeks              {r['run_260_s']:8.1f} s")
    print(f"  peak memory            {r['peak_rss_gb']:8.2f} GB")


def _child(people: int, full: bool) -> None:
    r = measure(people, naive=False)
    if full:
        model = PartyBuildingModel(ModelParams(people=people), PolicyParams(), rng=2)
        t = time.perf_counter()
        model.run_for(260)
        r["run_260_s"] = time.perf_counter() - t
        r["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(json.dumps(r))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument(
        "--million",
        type=int,
        default=1_000_000,
        help="size run in a child process for build time and peak memory (0: skip)",
    )
    ap.add_argument("--full-million", action="store_true", help="also run 260 weeks there")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.full_million)
        return
    for n in args.sizes:
        _print(measure(n))
    if args.million:
        cmd = [sys.executable, "-m", "experiments.benchmark", "--child", str(args.million)]
        if args.full_million:
            cmd.append("--full-million")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        _print(json.loads(out.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
