"""The run store and sweeps: nothing overwritten or lost, fast and safe resume, soft failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from experiments import run as runner
from experiments import status, store
from experiments.design import design_overrides, sample
from experiments.results import read_experiment, result_files
from sim.params import ConfigError

REPO = Path(__file__).resolve().parent.parent
TINY = ["model.people=200", "run.steps=8"]


@pytest.fixture
def root(tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(out))
    monkeypatch.chdir(tmp_path)
    return out


def sweep(*args: str) -> list[str]:
    return ["-m", "experiment=smoke", *TINY, "hydra.launcher.n_jobs=2", *args]


def start(args: list[str], root: Path) -> subprocess.Popen:
    """``python -m experiments.run <args>`` in a process group of its own."""
    env = {**os.environ, "SIM_OUTPUT_ROOT": str(root)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=root.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def tables(root: Path, experiment: str = "smoke") -> pd.DataFrame:
    runs, _ = read_experiment(experiment, root)
    return runs.sort_values(["scenario", "seed", "step"]).reset_index(drop=True)


# --------------------------------------------------------------------------- nothing is lost


def test_two_values_of_a_lever_make_two_runs(root, capsys):
    args = ["-m", "policy=coverage", "policy.coverage=0.2,0.8", "seed=0", *TINY]
    assert runner.main([*args, "hydra.launcher.n_jobs=1"]) == 0
    _, manifest = read_experiment("default", root)
    assert sorted(manifest["policy.coverage"]) == [0.2, 0.8]
    assert manifest["run"].nunique() == 2 and len(result_files(root / "default" / "runs")) == 2
    # a single run with another population goes beside them, not over them
    assert runner.main(["policy=coverage", "seed=0", "model.people=300", "run.steps=8"]) == 0
    _, manifest = read_experiment("default", root)
    assert sorted(manifest["model.people"]) == [200, 200, 300]


def test_a_degenerate_world_runs(root):
    shares = [f"model.share_{s}=0" for s in ("state", "enterprise", "platform", "rural")]
    assert runner.main(["model.people=50", "run.steps=3", *shares]) == 0
    runs, manifest = read_experiment("default", root)
    assert len(runs) == 3 and manifest["model.share_state"].iloc[0] == 0


# --------------------------------------------------------------------------- soft failures


def test_a_failing_run_is_recorded_and_the_others_complete(root, monkeypatch, capsys):
    real = sim.simulate

    def flaky(cfg, rng=None):
        if cfg.scenario == "coverage" and cfg.seed == 1:
            raise RuntimeError("boom in the model")
        return real(cfg, rng=rng)

    monkeypatch.setattr(sim, "simulate", flaky)  # seen by runs in this process (n_jobs=1)
    assert runner.main([*sweep(), "hydra.launcher.n_jobs=1"]) == runner.EXIT_FAILED
    out, err = capsys.readouterr()
    assert err.strip().splitlines()[-1] == (
        "error: 1 of 8 runs failed; errors and tracebacks: python -m experiments.status smoke"
    )
    assert len(result_files(root / "smoke" / "runs")) == 7
    index = store.read_index("smoke")
    (failed,) = index[index["status"] == "failed"].to_dict("records")
    assert failed["error"] == "RuntimeError: boom in the model"
    assert "Traceback" in failed["traceback"] and "flaky" in failed["traceback"]
    assert failed["scenario"] == "coverage" and failed["seed"] == 1
    assert set(index["status"]) == {"done", "failed"} and len(index) == 8

    assert status.main(["smoke", *TINY]) == 1
    out = capsys.readouterr().out
    assert "8 runs: 7 done, 1 failed, 0 running, 0 damaged, 0 missing" in out
    assert "failed: coverage run=" in out and "RuntimeError: boom in the model" in out

    monkeypatch.setattr(sim, "simulate", real)
    assert runner.main(sweep()) == 0
    out = capsys.readouterr().out
    assert "8 runs (4 scenarios" in out and "7 done, 1 to do" in out
    assert status.main(["smoke", *TINY]) == 0


# --------------------------------------------------------------------------- resume


def test_done_sweep_launches_nothing_and_damaged_file_is_redone(root, monkeypatch, capsys):
    assert runner.main(sweep()) == 0
    before = tables(root)
    calls = []
    monkeypatch.setattr(runner, "run_local", lambda jobs, n: calls.append(jobs) or [])
    start_time = time.perf_counter()
    assert runner.main(sweep()) == 0
    assert time.perf_counter() - start_time < 5
    assert calls == [] and "all 8 runs are done" in capsys.readouterr().out

    path = sorted(result_files(root / "smoke" / "runs"))[3]
    blob = bytearray(path.read_bytes())
    footer = int.from_bytes(blob[-8:-4], "little")
    blob[(len(blob) - 8 - footer) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    monkeypatch.undo()
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(root))
    assert runner.main(sweep()) == 0
    _, err = capsys.readouterr()
    assert f"redo: {path}: checksum mismatch" in err
    pd.testing.assert_frame_equal(tables(root), before)


def test_version_change_is_warned(root, capsys):
    assert runner.main(sweep("seed=0", "policy=baseline")) == 0
    record = store.read_index("smoke").iloc[0].to_dict()
    store.write_status(
        "smoke",
        {k: record[k] for k in ("run", "seed", "status")}
        | {
            "model_version": "1.0.0",
            "git_commit": "0" * 40,
        },
    )
    assert runner.main(sweep("seed=0", "policy=baseline")) == 0
    err = capsys.readouterr().err
    assert "made by model version 1.0.0; this is 2.0.0" in err
    assert "made at git commit 0000000000" in err


# --------------------------------------------------------------------------- claims


def test_claims_are_exclusive_and_stale_ones_are_taken_over(root):
    first = store.try_claim("x", "abc", 0)
    assert first is not None and store.try_claim("x", "abc", 0) is None
    first.release()
    assert store.try_claim("x", "abc", 0) is not None  # released: free again

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = store.claim_path("x", "dead", 1)
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout)}))
    assert store.holder("x", "dead", 1) is None
    taken = store.try_claim("x", "dead", 1)
    assert taken is not None and json.loads(lock.read_text())["pid"] == os.getpid()

    other = store.claim_path("x", "far", 2)
    other.write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    assert store.try_claim("x", "far", 2) is None  # another host's young claim is live
    old = time.time() - store.DEFAULT_CLAIM_TTL - 10
    os.utime(other, (old, old))
    assert store.try_claim("x", "far", 2) is not None


@pytest.mark.slow
def test_two_concurrent_sweeps_do_each_run_once(tmp_path):
    root = tmp_path / "out"
    args = ["-m", "experiment=smoke", "model.people=300", "run.steps=10", "seed=0,1,2"]
    args.append("hydra.launcher.n_jobs=1")
    procs = [start(args, root) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    wrote = [line.split()[2] for out, _ in outs for line in out.splitlines() if " wrote " in line]
    assert len(wrote) == 12 and len(set(wrote)) == 12  # 4 scenarios x 3 seeds, each once
    assert all(
        count > 0 for count in [sum(" wrote " in o for o in out.splitlines()) for out, _ in outs]
    )  # both sweeps did work
    assert len(result_files(root / "smoke" / "runs")) == 12


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_same_results(tmp_path):
    args = ["-m", "experiment=smoke", "model.people=400", "run.steps=15", "seed=0,1,2"]
    args.append("hydra.launcher.n_jobs=2")
    whole = tmp_path / "whole" / "out"
    whole.parent.mkdir()
    assert start(args, whole).wait(timeout=600) == 0

    cut = tmp_path / "cut" / "out"
    cut.parent.mkdir()
    proc = start(args, cut)
    deadline = time.time() + 300
    while len(list((cut / "smoke" / "runs").rglob("seed=*.parquet"))) < 3:
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(result_files(cut / "smoke" / "runs")) < 12
    again = start(args, cut)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "12 runs (4 scenarios" in out
    pd.testing.assert_frame_equal(tables(cut), tables(whole))
    left = [p.name for p in (cut / "smoke").rglob("*") if p.suffix in (".tmp", ".lock")]
    assert left == []


# --------------------------------------------------------------------------- designs


@pytest.mark.parametrize(("kind", "rows"), [("lhs", 5), ("sobol", 4 * 6), ("morris", 5 * 3)])
def test_designs_sample_within_ranges(kind, rows):
    n = 4 if kind == "sobol" else 5
    design = {
        "kind": kind,
        "n": n,
        "params": {"policy.coverage": [0, 1], "model.people": [100, 900]},
    }
    if kind == "sobol":
        design["second_order"] = True
    values = sample(design)
    assert values.shape == (rows, 2)
    assert (values[:, 0] >= 0).all() and (values[:, 0] <= 1).all()
    assert (values[:, 1] >= 100).all() and (values[:, 1] <= 900).all()
    assert np.array_equal(values, sample(design))  # seeded
    overrides = design_overrides(design)
    assert len(overrides) == rows and overrides[0][1].startswith("model.people=")
    assert all(o[1].split("=")[1].isdigit() for o in overrides)  # whole numbers stay whole


def test_design_expands_into_runs_with_recorded_values(root, capsys):
    design = "+experiment.design={kind: lhs, n: 3, params: {policy.coverage: [0.1, 0.9]}}"
    args = ["-m", "policy=coverage", "seed=0,1", *TINY, "hydra.launcher.n_jobs=2", design]
    jobs = runner.plan(args)
    assert len(jobs) == 6 and len({j.run for j in jobs}) == 3
    assert sorted({j.design_row for j in jobs}) == [0, 1, 2]
    assert runner.main(args) == 0
    _, manifest = read_experiment("default", root)
    assert manifest["policy.coverage"].nunique() == 3
    assert manifest["policy.coverage"].between(0.1, 0.9).all()
    assert sorted(manifest["design_row"]) == [0, 0, 1, 1, 2, 2]
    rows = manifest.groupby("design_row")["policy.coverage"].nunique()
    assert (rows == 1).all()  # a design row is one set of drawn values, over its seeds


@pytest.mark.parametrize(
    ("design", "message"),
    [
        (
            "{kind: grid, n: 3, params: {policy.coverage: [0, 1]}}",
            "experiment.design.kind = 'grid'",
        ),
        ("{kind: lhs, n: 0, params: {policy.coverage: [0, 1]}}", "experiment.design.n = 0"),
        ("{kind: lhs, n: 2, params: {policy.coverage: [1, 0]}}", "low < high"),
        ("{kind: lhs, n: 2, params: {policy.nope: [0, 1]}}", "policy.nope: not a config key"),
    ],
)
def test_bad_designs_fail_in_one_line(root, design, message):
    with pytest.raises(ConfigError) as info:
        runner.plan(["-m", "seed=0", f"+experiment.design={design}"])
    assert message in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- errors


def test_unwritable_output_and_bad_launcher_fail_in_one_line(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(blocker / "out"))
    assert runner.main(["run.steps=2", "model.people=100"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: cannot write results: {blocker / 'out'}")
    assert "SIM_OUTPUT_ROOT" in line

    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path / "out"))
    assert runner.main(["-m", "seed=0,1", "hydra.launcher.n_jobs=0"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: hydra.launcher.n_jobs = 0: must be a number of processes")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_submitit_local_runs_a_two_run_sweep(tmp_path):
    root = tmp_path / "out"
    args = ["-m", "experiment=smoke", *TINY, "seed=0", "policy=baseline,coverage"]
    proc = start([*args, "hydra/launcher=submitit_local"], root)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "launching 2 runs through LocalLauncher" in out
    assert len(result_files(root / "smoke" / "runs")) == 2
    statuses = [
        json.loads(p.read_text())["status"] for p in (root / "smoke" / "status").glob("*.json")
    ]
    assert statuses == ["done", "done"]


def test_jobs_a_cluster_launcher_lost_are_recorded_as_failed(root, monkeypatch, capsys):
    def launcher_fails():  # as Hydra does when a SLURM job was killed: it exits
        raise SystemExit(1)

    monkeypatch.setattr(runner, "task", launcher_fails)
    args = ["-m", "experiment=smoke", *TINY, "seed=0", "policy=baseline,coverage"]
    assert runner.main([*args, "hydra/launcher=submitit_local"]) == runner.EXIT_FAILED
    assert "error: 2 of 2 runs failed" in capsys.readouterr().err
    index = store.read_index("smoke")
    assert list(index["status"]) == ["failed", "failed"]
    assert all("ended without writing a result" in e for e in index["error"])
    assert not list((root / "smoke" / "status").glob("*.lock"))
    assert status.main(["smoke", *TINY, "seed=0", "policy=baseline,coverage"]) == 1
    assert "2 runs: 0 done, 2 failed" in capsys.readouterr().out


def test_progress_bar_on_a_terminal_and_lines_in_logs(monkeypatch, capsys):
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    job = runner.Job(sim.load_config(["seed=4"]), ["seed=4"], "abc", Path("x.parquet"))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = runner.Progress(2)
    progress.update(job, {"state": "done", "path": "x.parquet", "seconds": 1.0})
    progress.update(job, {"state": "failed", "error": "ValueError: no"})
    progress.close()
    shown = terminal.getvalue()
    assert "2/2" in shown and "done=1" in shown and "failed=1" in shown
    assert "failed: baseline run=abc seed=4: ValueError: no" in shown
    assert capsys.readouterr().out == ""

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log file: one line per run
    progress = runner.Progress(2)
    progress.update(job, {"state": "done", "path": "x.parquet", "seconds": 1.0})
    progress.update(job, {"state": "failed", "error": "ValueError: no"})
    progress.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "[1/2] wrote x.parquet (1.0 s)",
        "[2/2] failed: baseline run=abc seed=4: ValueError: no",
    ]


def test_launcher_presets_compose():
    from sim.config import compose_config

    slurm = compose_config(["hydra/launcher=slurm"], return_hydra_config=True).hydra.launcher
    assert slurm._target_.endswith("SlurmLauncher")
    assert (slurm.timeout_min, slurm.cpus_per_task, slurm.mem_gb) == (120, 1, 4)
    assert slurm.array_parallelism == 200
    local = compose_config([], return_hydra_config=True).hydra.launcher
    assert local._target_.endswith("JoblibLauncher") and local.n_jobs == -1
    assert runner.launcher_settings(["-m", "hydra.launcher.n_jobs=3"]) == ("local", 3)
    assert runner.launcher_settings(["-m", "hydra/launcher=slurm"])[0] == "SlurmLauncher"
