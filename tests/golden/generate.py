"""Regenerate the golden outcome frames that ``tests/test_golden.py`` compares against.

The golden frames pin the model's numbers while code moves: a refactor must reproduce them
exactly. Regenerate them only in a commit that changes the model's numbers on purpose, and say
why in that commit's message.

Usage:
    .venv/bin/python tests/golden/generate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

#: Overrides shared by every golden case: a small world, long enough for recruitment,
#: social change and a call to act.
COMMON = ["model.people=2000", "run.steps=80"]
#: Seeds of every case.
SEEDS = (0, 1)
#: Case name -> its overrides (the default config, each policy package, a fast platform shift
#: and a crisis call inside the horizon).
CASES: dict[str, list[str]] = {
    "baseline": ["policy=baseline"],
    "coverage": ["policy=coverage"],
    "embedding": ["policy=embedding"],
    "openness": ["policy=openness"],
    "foundation": ["policy=foundation"],
    "subject": ["policy=subject"],
    "fusion": ["policy=fusion"],
    "platform_shift": ["model.platform_shift=0.1", "model.social_change_every=4"],
    "crisis": ["model.crisis_start=40", "model.crisis_weeks=8"],
    "crisis_or_rule": ["model.crisis_start=40", "model.crisis_weeks=8", "model.peer_rule=or"],
    "four_dimensions": [
        "policy=subject",
        "policy.coverage=0.95",
        "policy.platform_coverage=0.95",
        "policy.online_branches=0.95",
        "policy.embedding=0.8",
        "policy.mutual_recognition=true",
        "policy.responsiveness=0.7",
        "policy.fusion_mode=integrated",
        "policy.integration_effort=0.3",
        "policy.evaluation=outcomes",
        "policy.openness=0.8",
    ],
}


def frame(case: str) -> pd.DataFrame:
    """The outcome frames of one case, its seeds stacked."""
    import sim

    cfg = sim.load_config(COMMON + CASES[case])
    return pd.concat([sim.simulate(cfg, rng=s) for s in SEEDS], ignore_index=True)


def path(case: str) -> Path:
    return HERE / f"{case}.parquet"


def main() -> None:
    for case in CASES:
        frame(case).to_parquet(path(case), index=False)
        print(f"wrote {path(case).relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
