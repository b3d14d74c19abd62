"""Calibration check (DESIGN §7): the baseline against the published ratios it must reproduce.

Runs the baseline for a few seeds and prints, for each calibration pattern, the measured mean
with its 95% confidence interval next to the target and its source. It changes nothing and
asserts nothing; ``docs/ODD.md`` quotes its output.

Usage:
    python -m experiments.calibration                    # 30,000 people, 4 seeds, 260 weeks
    python -m experiments.calibration --people 10000 --seeds 2
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from experiments.stats import t_interval
from sim.mechanisms.recruitment import summary
from sim.model import PartyBuildingModel
from sim.params import ModelParams, PolicyParams
from sim.state import ENTERPRISE, NONE, PLATFORM, STATE

#: pattern -> (target, source)
TARGETS = {
    "members / people": (0.071, "2024 communique; NBS population 2024"),
    "members per branch": (22.0, "5.25 M organisations incl. 4.614 M branches"),
    "retired share of members": (0.214, "21.47 M retired members, 2024"),
    "platform share of employed": (0.21, "84 M of 402 M employees, 2023 survey"),
    "applicants / members": (0.214, "21.42 M applicants at end 2024"),
    "activists / members": (0.106, "10.61 M activists at end 2024"),
    "new members / members a year": (0.021, "2.131 M new members in 2024"),
    "new members aged <= 35": (0.837, "2024 communique"),
}


def measure(people: int, seed: int, weeks: int, burn_in: int) -> dict[str, float]:
    """One baseline run's value of every pattern (ratios averaged after ``burn_in`` weeks)."""
    model = PartyBuildingModel(ModelParams(people=people), PolicyParams(), rng=seed)
    people = model.people
    employed = np.isin(people.sector, (STATE, ENTERPRISE, PLATFORM))
    members0 = people.member.sum()
    with_branch = model.branches.members[model.branches.members > 0]
    out = {
        "members / people": members0 / people.n,
        "members per branch": float(with_branch.mean()),
        "retired share of members": float(people.retired[people.member].mean()),
        "platform share of employed": float((people.sector[employed] == PLATFORM).mean()),
    }
    applicants, activists, recruits, members = [], [], 0.0, []
    for week in range(1, weeks + 1):
        model.step()
        if week > burn_in:
            o = model.outcomes()
            applicants.append(o["applicants"])
            activists.append(o["activists"])
            recruits += o["recruits"]
            members.append(o["members"])
    years = (weeks - burn_in) / 52
    out["applicants / members"] = float(np.mean(applicants))
    out["activists / members"] = float(np.mean(activists))
    out["new members / members a year"] = recruits / years / float(np.mean(members))
    out["new members aged <= 35"] = summary(model.state)["young_share_total"]
    assert people.sector.max() <= NONE
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=30_000)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--weeks", type=int, default=260)
    ap.add_argument("--burn-in", type=int, default=52)
    args = ap.parse_args(argv)
    runs = [
        measure(args.people, s, args.weeks, args.burn_in)
        for s in tqdm(range(args.seeds), desc="baseline runs", unit="run")
    ]
    print(
        f"\nbaseline, {args.people:,} people, {args.seeds} seeds, weeks "
        f"{args.burn_in + 1}-{args.weeks}: mean [95% CI] vs target"
    )
    for key, (target, source) in TARGETS.items():
        ci = t_interval([r[key] for r in runs])
        print(
            f"  {key:30s} {ci.mean:8.4f} [{ci.low:.4f}, {ci.high:.4f}]   "
            f"target {target:<7g} ({source})"
        )


if __name__ == "__main__":
    main()
