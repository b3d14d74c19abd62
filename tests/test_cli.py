"""The real command line: bad input fails fast and clean; good input writes results once."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from experiments.results import PROVENANCE_KEY, read_provenance
from sim.config import available_options
from sim.params import ModelParams, PolicyParams

REPO = Path(__file__).resolve().parent.parent
POLICY_OPTIONS = ", ".join(available_options("policy"))
EXPERIMENT_OPTIONS = ", ".join(available_options("experiment"))


def cli(module: str, args: list[str], root: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <args>`` with results going under ``root``."""
    env = {**os.environ, "SIM_OUTPUT_ROOT": str(root), "HYDRA_FULL_ERROR": "0"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# (arguments, key, value as shown, what is allowed)
BAD_INPUTS = [
    (["policy.coverage=abc"], "policy.coverage", "'abc'", "a number in [0, 1]"),
    (["policy.coverage=1.5"], "policy.coverage", "1.5", "a number in [0, 1]"),
    (["model.people=-5"], "model.people", "-5", "a whole number in [50,"),
    (["run.steps=0"], "run.steps", "0", "a whole number in [1,"),
    (["policy.coverage=nan"], "policy.coverage", "nan", "a number in [0, 1]"),
    (["policy.colour=1"], "policy.colour", "1", "allowed keys in policy: "),
    (["model.foo=2"], "model.foo", "2", "allowed keys in model: "),
    (["policy=nope"], "policy", "'nope'", f"available options: {POLICY_OPTIONS}"),
    (["policy.mutual_recognition=7"], "policy.mutual_recognition", "7", "a boolean"),
    (["seed=-1"], "seed", "-1", "a whole number in [0,"),
    (["model.share_state=0.9"], "share_state", "1.57", "at most 1"),
    (["experiment=nope"], "experiment", "'nope'", f"available options: {EXPERIMENT_OPTIONS}"),
    (["policy.coverage=["], "policy.coverage", "[", "key=value"),
    (["policy=baseline,coverage"], "policy", "baseline,coverage", "multirun (-m)"),
    (["-m", "experiment=smoke", "seed=0,-1"], "seed", "-1", "a whole number in [0,"),
    (["-m", "policy=baseline,nope"], "policy", "'nope'", f"available options: {POLICY_OPTIONS}"),
    (["-m", "experiment=smoke", "policy.coverage=2"], "policy.coverage", "2", "in [0, 1]"),
]


@pytest.mark.parametrize(
    ("args", "key", "value", "allowed"), BAD_INPUTS, ids=[" ".join(b[0]) for b in BAD_INPUTS]
)
def test_bad_input_fails_fast_and_clean(tmp_path, args, key, value, allowed):
    root = tmp_path / "out"
    done = cli("experiments.run", args, root, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("config error: ")
    assert key in line and value in line and allowed in line, line
    if "allowed keys in " in line:  # every key of the section is listed
        section = line.split("allowed keys in ")[1].split(":")[0]
        params = {"model": ModelParams, "policy": PolicyParams}[section]
        assert all(f.name in line for f in dataclasses.fields(params))
    else:
        assert len(line) < 250, line
    assert "Traceback" not in done.stderr + done.stdout
    assert not root.exists() or not any(root.rglob("*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing in the working dir either


def test_figures_of_an_experiment_without_results(tmp_path):
    (tmp_path / "out" / "default" / "runs" / "baseline").mkdir(parents=True)
    (tmp_path / "out" / "default" / "runs" / "baseline" / "seed=0.parquet").write_bytes(b"")
    done = cli("experiments.figures", ["nope"], tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("error: experiment = 'nope': no result files")
    assert "(experiments with results: default)" in lines[0]
    assert "run python -m experiments.run -m experiment=nope first" in lines[0]


@pytest.mark.slow
def test_single_run_writes_parquet_with_provenance_and_rerun_skips(tmp_path):
    root = tmp_path / "out"
    args = ["policy=coverage", "seed=3", "model.people=300", "run.steps=20"]
    done = cli("experiments.run", args, root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (path,) = (root / "default" / "runs").rglob("*.parquet")
    assert path.parent.parent.name == "scenario=coverage" and path.name == "seed=3.parquet"
    assert path.parent.name == f"run={read_provenance(path)['run_id']}"
    assert str(path) in done.stdout
    assert [p.name for p in path.parent.iterdir()] == ["seed=3.parquet"]  # no temp files left
    assert oct(path.stat().st_mode & 0o077) != "0o0"  # readable by the group, as the umask says

    df = pd.read_parquet(path)
    assert len(df) == 20
    assert {"step", "seed", "scenario", "cohesion", "mobilization"} <= set(df.columns)
    assert set(df["model.people"]) == {300} and set(df["policy.coverage"]) == {0.95}
    assert set(df["scenario"]) == {"coverage"} and set(df["seed"]) == {3}

    meta = pq.read_schema(path).metadata
    assert PROVENANCE_KEY in meta
    prov = json.loads(meta[PROVENANCE_KEY])
    assert prov == read_provenance(path)
    assert prov["seed"] == 3 and prov["scenario"] == "coverage"
    assert prov["config"]["model"]["people"] == 300
    assert prov["config"]["policy"]["coverage"] == 0.95
    fields = ("git_commit", "git_dirty", "packages", "python", "created_utc", "config_hash")
    for field in (*fields, "run_id", "model_version"):
        assert field in prov
    assert prov["packages"]["mesa"].startswith("3.")

    before = path.stat().st_mtime_ns
    again = cli("experiments.run", args, root, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "skip" in again.stdout
    assert path.stat().st_mtime_ns == before

    changed = cli("experiments.run", [*args[:-1], "run.steps=21"], root, cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    files = sorted((root / "default" / "runs").rglob("*.parquet"))
    assert len(files) == 2 and path in files  # another config is another run: nothing replaced
    assert sorted(len(pd.read_parquet(f)) for f in files) == [20, 21]


@pytest.mark.slow
def test_smoke_multirun_then_figures(tmp_path):
    root = tmp_path / "out"
    done = cli(
        "experiments.run", ["-m", "experiment=smoke", "hydra.launcher.n_jobs=2"], root, tmp_path
    )
    assert done.returncode == 0, done.stderr
    runs = root / "smoke" / "runs"
    files = sorted(runs.rglob("*.parquet"))
    assert len(files) == 8
    scenarios = {f.parent.parent.name for f in files}
    assert scenarios == {f"scenario={s}" for s in ("baseline", "coverage", "embedding", "openness")}
    assert not list(root.rglob(".hydra")) and not list(root.rglob("*.log"))  # no Hydra clutter

    figures = cli("experiments.figures", ["smoke"], root, cwd=tmp_path)
    assert figures.returncode == 0, figures.stderr
    for suffix in ("pdf", "png"):
        path = root / "smoke" / "figures" / f"scenario_bars.{suffix}"
        assert path.is_file() and path.stat().st_size > 1000
        assert str(path) in figures.stdout
    summary = pd.read_csv(root / "smoke" / "figures" / "scenario_bars.csv")
    assert f"summary: {root / 'smoke' / 'figures' / 'scenario_bars.csv'}" in figures.stdout
    assert summary["kind"].value_counts().to_dict() == {"level": 8, "difference": 6}
    # levels: 4 scenarios x 2 metrics; differences: 3 packages minus baseline x 2 metrics
    assert set(summary["n"]) == {2}
    assert list(summary["scenario"][:4]) == ["baseline", "coverage", "embedding", "openness"]
    assert "precision: smoke/scenario_bars: 6 headline differences: 95% CI half-width" in (
        figures.stdout
    )
    assert (root / "smoke" / "figures" / "scenario_bars.pdf").read_bytes()[:4] == b"%PDF"
