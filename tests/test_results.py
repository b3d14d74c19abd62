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
    check_result,
    config_hash,
    make_provenance,
    read_experiment,
    read_provenance,
    read_runs,
    remove_stale_temps,
    result_path,
    run_id,
    run_path,
    safe_name,
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
    assert set(back["run"]) == {run_id(cfg)}  # the run id is added; parameters are not
    pd.testing.assert_frame_equal(back.drop(columns="run"), fake_run("baseline", 0))


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


def test_temps_of_a_dead_writer_are_removed_at_once(tmp_path):
    """A killed writer's temporary file goes without waiting for it to age; a live writer's
    stays. File names with dots and hyphens, as the store's are (a regression: the writer's
    host was once read from the first dot of the name, so no dead writer was ever known)."""
    import subprocess
    import sys

    from experiments.results import _temp_prefix

    path = tmp_path / "e732cf11dfad-seed=1.json"
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # an exited process: its pid names a dead writer
    dead = tmp_path / (_temp_prefix(path).replace(f"-{os.getpid()}-", f"-{child.pid}-") + "x1.tmp")
    live = tmp_path / (_temp_prefix(path) + "y2.tmp")
    for p in (dead, live):
        p.write_text("x")
    assert remove_stale_temps(path) == [dead]
    assert live.exists()


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
    want = tmp_path / "default/runs/scenario=coverage/run=abc/seed=3.parquet"
    assert run_path("default", "coverage", 3, "abc") == want
    cfg = Config.from_dict({"seed": 3, "policy": {"name": "coverage"}})
    assert result_path(cfg) == run_path("default", "coverage", 3, run_id(cfg))


def test_read_experiment_gives_runs_and_manifest(tmp_path):
    for scenario, seed in (("baseline", 0), ("openness", 1)):
        cfg = Config.from_dict(
            {"seed": seed, "policy": {"name": scenario}, "model": {"people": 2000}}
        )
        path = tmp_path / "exp" / "runs" / f"scenario={scenario}" / f"seed={seed}.parquet"
        write_run(fake_run(scenario, seed), path, make_provenance(cfg.to_dict()))
    runs, manifest = read_experiment("exp", root=tmp_path)
    assert "model.people" not in runs.columns  # parameters are in the manifest, once per run
    assert list(manifest["run"]) == list(runs.groupby("scenario")["run"].first())
    assert len(runs) == 120 and set(runs["scenario"]) == {"baseline", "openness"}
    assert list(manifest["scenario"]) == ["baseline", "openness"]
    assert list(manifest["seed"]) == [0, 1]
    assert set(manifest["model.people"]) == {2000}
    assert list(manifest["policy.name"]) == ["baseline", "openness"]
    assert manifest["experiment.policies"].iloc[0] == ("baseline",)  # lists become tuples
    assert manifest["file"].iloc[1].endswith("scenario=openness/seed=1.parquet")
    with pytest.raises(FileNotFoundError, match="no result files"):
        read_experiment("other", root=tmp_path)


def test_read_experiment_rejects_a_file_without_provenance(tmp_path):
    path = tmp_path / "exp" / "runs" / "baseline" / "seed=0.parquet"
    path.parent.mkdir(parents=True)
    fake_run("baseline", 0).to_parquet(path)
    with pytest.raises(ResultsError, match="seed=0.parquet: no provenance record"):
        read_experiment("exp", root=tmp_path)


def test_run_id_is_the_config_without_seed_and_experiment():
    base = Config.from_dict({"seed": 0})
    assert run_id(base) == run_id(Config.from_dict({"seed": 7}))  # a seed is a file of a run
    assert run_id(base) == run_id(Config.from_dict({"experiment": {"name": "x", "seeds": 2}}))
    assert run_id(base) != run_id(Config.from_dict({"policy": {"coverage": 0.9}}))
    assert run_id(base) != run_id(Config.from_dict({"model": {"people": 2000}}))
    assert len(run_id(base)) == 12


def test_run_id_includes_the_model_version(monkeypatch):
    import experiments.results as results

    before = run_id(Config())
    monkeypatch.setattr(results, "MODEL_VERSION", "9.9.9")
    assert run_id(Config()) != before


@pytest.mark.parametrize(
    "name", ["/some/dir", "../../etc", "..", ".", "", "a b", "x/../../y", "C:\\x", "~root"]
)
def test_path_like_scenario_names_stay_in_the_store(monkeypatch, tmp_path, name):
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path / "out"))
    cfg = Config.from_dict({"policy": {"name": name}})
    path = result_path(cfg).resolve()
    runs = (tmp_path / "out" / "default" / "runs").resolve()
    assert path.is_relative_to(runs)
    assert path.parent.parent.parent == runs  # runs/scenario=<s>/run=<id>/seed=0.parquet
    assert path.parent.parent.name != "scenario=" + name or name.isalnum()


def test_safe_names_are_distinct_and_keep_plain_names():
    names = ["baseline", "cov0.25_emb0.5", "cov0_25_emb0_5", "/a", "_a", "", ".", "..", "党建"]
    safe = [safe_name(n) for n in names]
    assert len(set(safe)) == len(names)
    assert safe[0] == "baseline" and safe[-1] == "党建"
    assert all(s and s not in (".", "..") and "/" not in s and "." not in s for s in safe)


def test_parameters_are_columns_and_duckdb_reads_the_store(tmp_path):
    import duckdb

    for coverage in (0.2, 0.8):
        for seed in (0, 1):
            cfg = Config.from_dict({"seed": seed, "policy": {"name": "c", "coverage": coverage}})
            path = tmp_path / "exp" / "runs" / "scenario=c" / f"run={run_id(cfg)}"
            write_run(
                fake_run("c", seed), path / f"seed={seed}.parquet", make_provenance(cfg.to_dict())
            )
    glob = f"{tmp_path}/exp/**/*.parquet"
    df = duckdb.sql(
        f'SELECT scenario, run, seed, "policy.coverage" AS coverage, count(*) AS n '
        f"FROM read_parquet('{glob}', hive_partitioning=true) GROUP BY ALL ORDER BY ALL"
    ).df()
    assert list(df["coverage"]) == [0.2, 0.2, 0.8, 0.8] and set(df["n"]) == {60}
    assert df["run"].nunique() == 2 and list(df["seed"]) == [0, 1, 0, 1]
    assert set(df["scenario"]) == {"c"}


def test_damaged_file_is_reported_by_path(tmp_path):
    cfg = Config()
    path = tmp_path / "exp" / "runs" / "scenario=b" / "seed=0.parquet"
    write_run(fake_run("b", 0), path, make_provenance(cfg.to_dict()))
    assert check_result(path, run_id(cfg)) is None
    assert check_result(path, "other") == f"made for run {run_id(cfg)}, not other"
    blob = bytearray(path.read_bytes())
    footer = int.from_bytes(blob[-8:-4], "little")
    blob[(len(blob) - 8 - footer) // 2] ^= 0xFF  # a data page, footer intact
    path.write_bytes(bytes(blob))
    assert "checksum mismatch" in check_result(path, run_id(cfg))
    with pytest.raises(ResultsError, match=f"{path}: damaged result"):
        read_experiment("exp", root=tmp_path)
    path.write_bytes(bytes(blob[: len(blob) // 2]))  # truncated
    assert check_result(path).startswith("unreadable")
    assert check_result(tmp_path / "nope.parquet") == "missing"


def test_files_respect_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        path = write_run(fake_run("b", 0), tmp_path / "a.parquet", make_provenance({}))
        assert path.stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)
