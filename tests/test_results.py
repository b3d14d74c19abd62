"""Result files: atomic Parquet with provenance, read back as runs and a manifest."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from experiments.results import (
    ResultsError,
    atomic_path,
    config_hash,
    make_provenance,
    read_experiment,
    read_provenance,
    read_runs,
    remove_stale_temps,
    run_path,
    write_run,
)
from sim.params import Config


def fake_run(scenario: str, seed: int, steps: int = 60, lift: float = 0.0) -> pd.DataFrame:
    step = np.arange(1, steps + 1)
    return pd.DataFrame(
        {
            "step": step,
            "seed": seed,
            "scenario": scenario,
            "cohesion": 0.5 + lift + 0.001 * seed + 0.0 * step,
            "mobilization": np.where(step == 30, 0.4 + lift + 0.01 * seed, 0.0),
        }
    )


def test_write_and_read_back(tmp_path):
    cfg = Config()
    prov = make_provenance(cfg.to_dict(), overrides=["seed=0"])
    path = tmp_path / "runs" / "baseline" / "seed=0.parquet"
    write_run(fake_run("baseline", 0), path, prov)
    assert read_provenance(path)["config_hash"] == config_hash(cfg.to_dict())
    assert read_provenance(path)["overrides"] == ["seed=0"]
    assert [p.name for p in path.parent.iterdir()] == ["seed=0.parquet"]
    back = read_runs(tmp_path / "runs")
    pd.testing.assert_frame_equal(back, fake_run("baseline", 0))


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "x.parquet"
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_read_runs_ignores_temp_files_and_fills_columns(tmp_path):
    df = fake_run("openness", 2).drop(columns=["scenario", "seed"])
    cfg = Config.from_dict({"seed": 2, "policy": {"name": "openness"}})
    write_run(df, tmp_path / "openness" / "seed=2.parquet", make_provenance(cfg.to_dict()))
    (tmp_path / "openness" / ".seed=3.parquet.abc.tmp").write_text("partial")
    back = read_runs(tmp_path)
    assert set(back["scenario"]) == {"openness"} and set(back["seed"]) == {2}
    with pytest.raises(FileNotFoundError):
        read_runs(tmp_path / "empty")


def test_stale_temps_are_removed(tmp_path):
    path = tmp_path / "seed=1.parquet"
    old = tmp_path / ".seed=1.parquet.abc.tmp"
    fresh = tmp_path / ".seed=1.parquet.def.tmp"
    other = tmp_path / ".seed=2.parquet.abc.tmp"
    for p in (old, fresh, other):
        p.write_text("x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    os.utime(other, (time.time() - 7200, time.time() - 7200))
    assert remove_stale_temps(path) == [old]
    assert fresh.exists() and other.exists()


def test_provenance_lists_dependencies():
    prov = make_provenance(Config().to_dict())
    for name in ("mesa", "numpy", "hydra-core", "pyarrow"):
        assert prov["packages"][name] != "not installed"


def test_config_hash_ignores_experiment_section():
    a = Config().to_dict()
    b = Config.from_dict({"experiment": {"name": "other"}}).to_dict()
    c = Config.from_dict({"seed": 1}).to_dict()
    assert config_hash(a) == config_hash(b) != config_hash(c)


def test_run_path(monkeypatch, tmp_path):
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    assert run_path("default", "coverage", 3) == tmp_path / "default/runs/coverage/seed=3.parquet"


def test_read_experiment_gives_runs_and_manifest(tmp_path):
    for scenario, seed in (("baseline", 0), ("openness", 1)):
        cfg = Config.from_dict(
            {"seed": seed, "policy": {"name": scenario}, "model": {"people": 2000}}
        )
        path = tmp_path / "exp" / "runs" / scenario / f"seed={seed}.parquet"
        write_run(fake_run(scenario, seed), path, make_provenance(cfg.to_dict()))
    runs, manifest = read_experiment("exp", root=tmp_path)
    assert len(runs) == 120 and set(runs["scenario"]) == {"baseline", "openness"}
    assert list(manifest["scenario"]) == ["baseline", "openness"]
    assert list(manifest["seed"]) == [0, 1]
    assert set(manifest["model.people"]) == {2000}
    assert list(manifest["policy.name"]) == ["baseline", "openness"]
    assert manifest["experiment.policies"].iloc[0] == ("baseline",)  # lists become tuples
    assert manifest["file"].iloc[1].endswith("openness/seed=1.parquet")
    with pytest.raises(FileNotFoundError, match="no result files"):
        read_experiment("other", root=tmp_path)


def test_read_experiment_rejects_a_file_without_provenance(tmp_path):
    path = tmp_path / "exp" / "runs" / "baseline" / "seed=0.parquet"
    path.parent.mkdir(parents=True)
    fake_run("baseline", 0).to_parquet(path)
    with pytest.raises(ResultsError, match="seed=0.parquet: no provenance record"):
        read_experiment("exp", root=tmp_path)
