"""The `sensitivity` experiment (DESIGN §8): which levers and assumptions matter most?

Two stages, one command:

1. **Morris screening** (elementary effects; Morris 1991, Campolongo et al. 2007) over every
   policy lever (ranges of the validation's lever screen, ``experiments.validate.LEVERS``) and
   every key behavioural assumption (the ranges the ODD parameter table marks,
   ``docs/make_param_table.py: KEY_ASSUMPTIONS``): mu* (the mean absolute elementary effect,
   with a bootstrap 95% CI) against sigma (their sd: non-linearity or interactions).
2. **Sobol indices** (Saltelli 2002/2010 estimators, SALib) for the ``--top`` factors Morris
   ranks highest (largest mu* relative to the largest of its outcome, over the four
   outcomes): first-order S1 and total ST with bootstrap 95% CIs; the other factors stay at
   their defaults.

Outcomes: cohesion, identification and unmet needs averaged over the 52 weeks before the call,
and the call's peak mobilization (as in the validation table). Every design row is one run
with the same model seed (common random numbers), so the indices compare inputs, not seeds;
the seed's own noise enters as a small factor-independent variance (reported as
``noise_share``: the variance across ``--noise-seeds`` seeds at the defaults over the Sobol
sample's variance).

Booleans and the evaluation mode are two-level factors: a design value below 0.5 is the low
level, otherwise the high one.

Results go to ``<output root>/sensitivity/``: ``morris_runs.parquet`` and ``sobol_runs.parquet``
(one row per run: the design values as columns and the outcomes; the design's settings in the
metadata; reused when the same design is asked again), ``morris.csv`` and ``sobol.csv`` (the
indices), ``summary.json``, and the figures ``figures/sensitivity_morris`` and
``figures/sensitivity_sobol`` (PDF and PNG).

Usage:
    python -m experiments.sensitivity                  # full design (see --help for sizes)
    python -m experiments.sensitivity --smoke          # a tiny version (seconds; the tests)
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
#: The outcomes analysed (column -> label).
OUTCOMES = {
    "cohesion": "cohesion",
    "mobilization_peak": "mobilization (peak)",
    "identification": "identification",
    "unmet_needs": "unmet needs",
}


def key_assumptions() -> dict[str, tuple[float, float]]:
    """The key behavioural assumptions and their ranges, as the ODD parameter table marks them."""
    sys.path.insert(0, str(REPO / "docs"))
    try:
        from make_param_table import KEY_ASSUMPTIONS
    finally:
        sys.path.pop(0)
    return dict(KEY_ASSUMPTIONS)


@dataclass(frozen=True)
class Factor:
    """One input of the design: a policy lever or a model parameter with its range."""

    name: str  #: ``policy.<lever>`` or ``model.<parameter>``
    low: Any
    high: Any

    @property
    def discrete(self) -> bool:
        return not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in (self.low, self.high)
        )

    @property
    def bounds(self) -> list[float]:
        if self.discrete:
            return [0.0, 1.0]
        return [float(self.low), float(self.high)]

    def value(self, u: float) -> Any:
        """The factor's value at design value ``u`` (two-level factors: below 0.5 is low)."""
        if self.discrete:
            return self.high if u >= 0.5 else self.low
        return float(u)


def factors() -> list[Factor]:
    """Every policy lever and every key assumption, with the ranges they are screened over."""
    from experiments.validate import LEVERS

    out = [Factor(f"policy.{k}", lo, hi) for k, (lo, hi) in LEVERS.items()]
    out += [Factor(f"model.{k}", lo, hi) for k, (lo, hi) in key_assumptions().items()]
    return out


def problem(chosen: list[Factor]) -> dict[str, Any]:
    """The SALib problem of the chosen factors."""
    return {
        "num_vars": len(chosen),
        "names": [f.name for f in chosen],
        "bounds": [f.bounds for f in chosen],
    }


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Setup:
    """What every run of the design shares."""

    people: int
    steps: int
    crisis: int
    seed: int

    def check(self) -> None:
        if self.people < 100:
            raise ValueError(f"--people = {self.people}: must be at least 100")
        if not 0 < self.crisis < self.steps:
            raise ValueError(
                f"--crisis = {self.crisis}: must be inside (0, --steps = {self.steps})"
            )


@functools.cache
def base_config():
    """The baseline config, composed once per process (composing costs more than a tiny run)."""
    import sim

    return sim.load_config(["policy=baseline"])


def run_row(values: dict[str, Any], setup: Setup, seed: int | None = None) -> dict[str, float]:
    """One run at the given factor values: the four outcomes."""
    import logging

    import sim

    logging.getLogger("MESA").setLevel(logging.WARNING)
    cfg = base_config()
    policy = {k.removeprefix("policy."): v for k, v in values.items() if k.startswith("policy.")}
    model = {k.removeprefix("model."): v for k, v in values.items() if k.startswith("model.")}
    cfg = replace(
        cfg,
        policy=cfg.policy.replace(**policy),
        model=cfg.model.replace(people=setup.people, crisis_start=setup.crisis, **model),
        run=cfg.run.replace(steps=setup.steps),
    )
    m = sim.PartyBuildingModel.from_config(cfg, rng=setup.seed if seed is None else seed)
    m.run_for(setup.steps)
    frame = m.results()
    before = sim.summarise_run(frame.iloc[: max(setup.crisis - 1, 1)], last_weeks=52)
    out = {k: before[f"{k}_final"] for k in OUTCOMES if k != "mobilization_peak"}
    out["mobilization_peak"] = float(frame["mobilization"].max())
    return out


def run_design(
    x: np.ndarray, chosen: list[Factor], setup: Setup, jobs: int, desc: str
) -> pd.DataFrame:
    """Run every row of a design (values in the factors' bounds): design columns + outcomes."""
    rows = [{f.name: f.value(u) for f, u in zip(chosen, row, strict=True)} for row in x]
    results: list[dict[str, float] | None] = [None] * len(rows)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_row, r, setup): i for i, r in enumerate(rows)}
        for f in tqdm(futures, desc=desc, unit="run", file=sys.stderr):
            results[futures[f]] = f.result()
    frame = pd.DataFrame(x, columns=[f.name for f in chosen])
    return pd.concat([frame, pd.DataFrame(results)], axis=1)


def design_key(kind: str, x: np.ndarray, chosen: list[Factor], setup: Setup) -> str:
    """Identity of a design: its sample, factors and shared settings, and the model version."""
    import sim

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x).tobytes())
    spec = [kind, [(f.name, str(f.low), str(f.high)) for f in chosen], setup.__dict__]
    h.update(json.dumps([spec, getattr(sim, "MODEL_VERSION", "")], default=str).encode())
    return h.hexdigest()[:16]


def cached_design(
    path: Path, kind: str, x: np.ndarray, chosen: list[Factor], setup: Setup, jobs: int
) -> pd.DataFrame:
    """The design's runs: read back when the same design was run before, else run and store."""
    import pyarrow.parquet as pq

    key = design_key(kind, x, chosen, setup)
    if path.exists():
        try:
            meta = pq.read_schema(path).metadata or {}
            stored = meta.get(b"design_key", b"").decode()
            frame = pd.read_parquet(path)
            if stored == key and len(frame) == len(x):
                print(f"{kind}: reusing {len(frame)} runs in {path}", file=sys.stderr)
                return frame
        except Exception as exc:  # a damaged file is redone, and said so
            print(f"{kind}: {path} unreadable ({exc}); running again", file=sys.stderr)
    frame = run_design(x, chosen, setup, jobs, kind)
    write_table(frame, path, {"design_key": key, "kind": kind})
    return frame


def write_table(frame: pd.DataFrame, path: Path, meta: dict[str, str]) -> None:
    """Write a Parquet table atomically with string metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in meta.items()}}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- analysis


def tabulate(
    analyze: Callable[[np.ndarray], dict], frame: pd.DataFrame, chosen: list[Factor], keys
) -> pd.DataFrame:
    """One row per outcome and factor: the given keys of SALib's result for that outcome."""
    out = []
    for outcome in OUTCOMES:
        res = analyze(frame[outcome].to_numpy(float))
        for i, f in enumerate(chosen):
            out.append({"outcome": outcome, "factor": f.name} | {k: float(res[k][i]) for k in keys})
    return pd.DataFrame(out)


def morris_indices(
    x: np.ndarray, frame: pd.DataFrame, chosen: list[Factor], levels: int, seed: int
) -> pd.DataFrame:
    """mu*, its bootstrap 95% CI, mu and sigma per factor and outcome (SALib's Morris)."""
    from SALib.analyze import morris

    def analyze(y: np.ndarray) -> dict:
        return morris.analyze(
            problem(chosen), x, y, num_levels=levels, conf_level=0.95, num_resamples=1000,
            seed=seed,
        )  # fmt: skip

    return tabulate(analyze, frame, chosen, ("mu_star", "mu_star_conf", "mu", "sigma"))


def top_factors(morris_table: pd.DataFrame, k: int) -> list[str]:
    """The k factors with the largest mu* relative to the largest of its outcome (any outcome)."""
    t = morris_table.copy()
    scale = t.groupby("outcome")["mu_star"].transform("max").replace(0, np.nan)
    t["relative"] = (t["mu_star"] / scale).fillna(0.0)
    best = t.groupby("factor")["relative"].max().sort_values(ascending=False, kind="stable")
    return list(best.index[:k])


def sobol_indices(frame: pd.DataFrame, chosen: list[Factor], seed: int) -> pd.DataFrame:
    """S1 and ST with bootstrap 95% CIs per factor and outcome (SALib's Sobol analysis)."""
    from SALib.analyze import sobol

    def analyze(y: np.ndarray) -> dict:
        return sobol.analyze(
            problem(chosen), y, calc_second_order=False, conf_level=0.95, num_resamples=1000,
            seed=seed,
        )  # fmt: skip

    return tabulate(analyze, frame, chosen, ("S1", "S1_conf", "ST", "ST_conf"))


# --------------------------------------------------------------------------- command


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=3000, help="people per run (default 3,000)")
    ap.add_argument("--steps", type=int, default=156, help="weeks per run (default 156)")
    ap.add_argument("--crisis", type=int, default=140, help="week of the call (default 140)")
    ap.add_argument("--trajectories", type=int, default=10, help="Morris trajectories (r)")
    ap.add_argument("--levels", type=int, default=4, help="Morris grid levels (p)")
    ap.add_argument("--top", type=int, default=6, help="factors carried to the Sobol stage")
    ap.add_argument("--sobol-n", type=int, default=128, help="Sobol base sample (power of 2)")
    ap.add_argument("--noise-seeds", type=int, default=8, help="seeds at the defaults (noise)")
    ap.add_argument("--seed", type=int, default=0, help="model seed and design seed")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="processes")
    ap.add_argument("--smoke", action="store_true", help="a tiny design (the tests)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.people, args.steps, args.crisis = 300, 30, 25
        args.trajectories, args.top, args.sobol_n, args.noise_seeds = 1, 2, 4, 2
    setup = Setup(args.people, args.steps, args.crisis, args.seed)
    for name in ("trajectories", "levels", "top", "sobol_n", "noise_seeds", "jobs"):
        if getattr(args, name) < (2 if name in ("levels", "noise_seeds") else 1):
            print(f"config error: --{name.replace('_', '-')} = {getattr(args, name)}: too small")
            return 2
    if args.sobol_n & (args.sobol_n - 1):
        print(f"config error: --sobol-n = {args.sobol_n}: must be a power of 2")
        return 2
    try:
        setup.check()
    except ValueError as exc:
        print(f"config error: {exc}")
        return 2

    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from experiments.results import output_root

    folder = output_root() / "sensitivity"
    started = time.time()
    every = factors()
    x_m = morris_sample.sample(
        problem(every), args.trajectories, num_levels=args.levels, seed=args.seed
    )
    runs_m = cached_design(folder / "morris_runs.parquet", "morris", x_m, every, setup, args.jobs)
    table_m = morris_indices(x_m, runs_m, every, args.levels, args.seed)
    top = top_factors(table_m, args.top)
    chosen = [f for f in every if f.name in top]
    x_s = sobol_sample.sample(
        problem(chosen), args.sobol_n, calc_second_order=False, seed=args.seed
    )
    runs_s = cached_design(folder / "sobol_runs.parquet", "sobol", x_s, chosen, setup, args.jobs)
    table_s = sobol_indices(runs_s, chosen, args.seed)
    # the seed's own noise, at the defaults, against the spread the Sobol sample produces
    noise = pd.DataFrame(
        [run_row({}, setup, seed=args.seed + 1 + s) for s in range(args.noise_seeds)]
    )
    spread = {o: float(runs_s[o].var(ddof=1)) for o in OUTCOMES}
    noise_share = {
        o: float(noise[o].var(ddof=1)) / spread[o] if spread[o] > 0 else None for o in OUTCOMES
    }
    minutes = (time.time() - started) / 60
    folder.mkdir(parents=True, exist_ok=True)
    table_m.to_csv(folder / "morris.csv", index=False)
    table_s.to_csv(folder / "sobol.csv", index=False)
    summary = {
        "people": args.people,
        "steps": args.steps,
        "crisis": args.crisis,
        "seed": args.seed,
        "morris": {"trajectories": args.trajectories, "levels": args.levels, "runs": len(x_m)},
        "sobol": {"n": args.sobol_n, "runs": len(x_s), "factors": top},
        "noise_share": noise_share,
        "minutes": minutes,
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=1))
    from experiments.figures.sensitivity import draw_sensitivity

    written = draw_sensitivity(folder)
    print(f"Morris: {len(x_m)} runs over {len(every)} factors; Sobol: {len(x_s)} runs over {top}")
    for o in OUTCOMES:
        best = table_s[table_s.outcome == o].sort_values("ST", ascending=False).iloc[0]
        noise_text = (
            "the sample does not move it"
            if noise_share[o] is None
            else f"seed noise {noise_share[o]:.1%} of the sample's variance"
        )
        print(
            f"  {o}: largest total index {best.factor} ST = {best.ST:.2f} "
            f"+- {best.ST_conf:.2f}; {noise_text}"
        )
    print(f"wrote {folder} ({minutes:.1f} min); figures: {', '.join(str(p) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
