"""The fast version of the validation table (DESIGN §11; ``python -m experiments.validate``).

``docs/validation.json`` records, for every comparison of every claim, the effect and its 95%
interval at two population sizes. A comparison is *robust* when its interval excludes 0 with
the same sign at both sizes. This test reruns one robust comparison per claim at a small size
with a few paired seeds and fails if its mean effect has changed sign: a model change that
turns a robust verdict must regenerate the table (and say so), not slip through.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from experiments import validate

RECORD = Path(__file__).resolve().parents[1] / "docs" / "validation.json"
PEOPLE = 2000
SEEDS = range(4)


def robust_comparisons() -> list[tuple[str, int, int]]:
    """(claim key, index of the comparison, its sign) of the first robust comparison per claim."""
    record = json.loads(RECORD.read_text())
    out = []
    for key, rows in record["claims"].items():
        if key.endswith("_verdict"):
            continue
        for i, row in enumerate(rows):
            lows_highs = [(e[1], e[2]) for e in row["effects"]]
            if all(lo > 0 for lo, _ in lows_highs) or all(hi < 0 for _, hi in lows_highs):
                out.append((key, i, 1 if lows_highs[0][0] > 0 else -1))
                break
    return out


def test_the_record_covers_every_claim():
    record = json.loads(RECORD.read_text())
    keys = {c.key for c in validate.claims()}
    assert keys <= set(record["claims"])
    assert set(record["levers"]) == set(validate.LEVERS)


@pytest.mark.slow
def test_robust_verdicts_keep_their_sign_at_a_small_size():
    record = json.loads(RECORD.read_text())
    steps, crisis = record.get("steps", 156), record.get("crisis", 140)
    runner = validate.Runner(steps, crisis, jobs=2)
    by_key = {c.key: c for c in validate.claims()}
    chosen = robust_comparisons()
    assert chosen, "the validation table has no robust comparison"
    jobs = []
    for key, i, _ in chosen:
        _, treated, control, _, _ = by_key[key].comparisons[i]
        jobs += [validate.Job(x, PEOPLE, s) for x in (treated, control) for s in SEEDS]
    runner.run(jobs, "fast validation")
    flipped = []
    for key, i, sign in chosen:
        label, treated, control, outcome, _ = by_key[key].comparisons[i]
        ci = runner.paired(treated, control, outcome, PEOPLE, SEEDS)
        if np.sign(ci.mean) != sign:
            flipped.append(f"({key}) {label}: {ci.mean:+.4f}, the table says sign {sign:+d}")
    assert not flipped, "robust verdicts changed sign: " + "; ".join(flipped)
