"""Calibration check (DESIGN §7): the baseline against the published patterns it must reproduce.

Runs the baseline for a few seeds and prints, for each calibration pattern, the measured mean
with its 95% confidence interval next to the target, the band the model is calibrated to stay
in, and whether it does. It changes nothing; ``docs/ODD.md`` quotes its output. Exit status 1
when a pattern is outside its band.

Usage:
    python -m experiments.calibration                    # 30,000 people, 4 seeds, 260 weeks
    python -m experiments.calibration --people 10000 --seeds 2
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from tqdm import tqdm

from experiments.stats import t_interval
from sim.mechanisms.recruitment import summary
from sim.model import PartyBuildingModel
from sim.params import ModelParams, PolicyParams
from sim.state import ENTERPRISE, PLATFORM, STATE

#: pattern -> (target, half-width of the band the calibration keeps it in, source)
TARGETS = {
    "members / people": (0.071, 0.001, "2024 communique; NBS population 2024"),
    "members per branch": (22.0, 3.3, "5.25 M organisations incl. 4.614 M branches (+-15%)"),
    "retired share of members": (0.214, 0.03, "21.47 M retired members, 2024"),
    "platform share of employed": (0.21, 0.02, "84 M of 402 M employees, 2023 survey"),
    "applicants / members": (0.214, 0.03, "21.42 M applicants at end 2024"),
    "activists / members": (0.106, 0.015, "10.61 M activists at end 2024"),
    "new members / members a year": (0.021, 0.003, "2.131 M new members in 2024"),
    "new members aged <= 35": (0.837, 0.07, "2024 communique"),
    "net membership growth a year": (0.011, 0.004, "99.185 M (2023) -> 100.271 M (2024)"),
}
#: reported beside the targets, without a published value to meet
DIAGNOSTICS = (
    "exits / members a year",
    "deaths / members a year",
    "burden (member-weighted)",
    "formalistic branches",
    "cohesion drift a year",
)


def measure(people: int, seed: int, weeks: int, burn_in: int) -> dict[str, float]:
    """One baseline run's value of every pattern (rates over the weeks after ``burn_in``)."""
    params = ModelParams(people=people)
    model = PartyBuildingModel(params, PolicyParams(), rng=seed)
    p = model.people
    employed = np.isin(p.sector, (STATE, ENTERPRISE, PLATFORM))
    out = {
        "members / people": float(p.member.sum() / p.n),
        "retired share of members": float(p.retired[p.member].mean()),
        "platform share of employed": float((p.sector[employed] == PLATFORM).mean()),
    }
    model.run_for(weeks)
    frame = model.results().iloc[burn_in:]
    years = len(frame) / 52
    members = frame["members"].to_numpy()
    out["members per branch"] = float(frame["members_per_branch"].mean())
    out["applicants / members"] = float(frame["applicants"].mean())
    out["activists / members"] = float(frame["activists"].mean())
    out["new members / members a year"] = float(frame["recruits"].sum() / years / members.mean())
    out["new members aged <= 35"] = summary(model.state)["young_share_total"]
    # log-linear trend of membership, per year
    slope = np.polyfit(np.arange(members.size) / 52, np.log(members), 1)[0]
    out["net membership growth a year"] = float(np.expm1(slope))
    out["exits / members a year"] = float(frame["exits"].sum() / years / members.mean())
    out["deaths / members a year"] = float(frame["deaths"].sum() / years / members.mean())
    out["burden (member-weighted)"] = float(frame["burden"].mean())
    b = model.branches
    has = b.members > 0
    out["formalistic branches"] = float((b.burden[has] > params.formalism_level).mean())
    cohesion = frame["cohesion"].to_numpy()
    out["cohesion drift a year"] = float(np.polyfit(np.arange(cohesion.size) / 52, cohesion, 1)[0])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=30_000)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--weeks", type=int, default=260)
    ap.add_argument("--burn-in", type=int, default=52)
    ap.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    args = ap.parse_args(argv)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [
            pool.submit(measure, args.people, s, args.weeks, args.burn_in)
            for s in range(args.seeds)
        ]
        runs = [f.result() for f in tqdm(futures, desc="baseline runs", unit="run")]
    print(
        f"\nbaseline, {args.people:,} people, {args.seeds} seeds, weeks "
        f"{args.burn_in + 1}-{args.weeks}: mean [95% CI] vs target (band)"
    )
    off = 0
    for key, (target, band, source) in TARGETS.items():
        ci = t_interval([r[key] for r in runs])
        ok = abs(ci.mean - target) <= band
        off += not ok
        print(
            f"  {key:30s} {ci.mean:8.4f} [{ci.low:.4f}, {ci.high:.4f}]   target {target:<6g}"
            f" +- {band:<6g} {'ok ' if ok else 'OFF'} ({source})"
        )
    for key in DIAGNOSTICS:
        ci = t_interval([r[key] for r in runs])
        print(f"  {key:30s} {ci.mean:8.4f} [{ci.low:.4f}, {ci.high:.4f}]")
    print(f"{len(TARGETS) - off} of {len(TARGETS)} patterns inside their band")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
