"""The comparison notebook runs headless on results a sweep just wrote (jupytext + nbclient)."""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys
from pathlib import Path

import jupytext
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from experiments.results import config_hash, make_provenance, result_path, write_run
from sim.params import Config

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "compare_scenarios.py"
PACKAGES = ("subject", "foundation", "fusion", "openness")


def execute(root: Path, experiment: str, monkeypatch) -> list[str]:
    """Execute the notebook for an experiment under an output root; the text of its outputs."""
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(root))
    monkeypatch.setenv("SIM_EXPERIMENT", experiment)
    notebook = jupytext.read(NOTEBOOK)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
    return texts


@pytest.mark.slow
def test_notebook_runs_on_a_fresh_smoke_sweep(tmp_path, monkeypatch):
    root = tmp_path / "outputs"
    env = {"SIM_OUTPUT_ROOT": str(root), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", "experiment=smoke"]
        + ["hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'multirun'}"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    text = "\n".join(execute(root, "smoke", monkeypatch))
    assert "smoke: mean and 95% CI of the mean over 2 seeds per scenario (500 people" in text
    assert "reference: baseline" in text
    assert "Cohen's d_z (mean paired difference / SD of the differences):" in text
    for column in ("sufficient", "seeds_needed", "cohesion", "mobilization", "identification"):
        assert column in text
    for scenario in ("coverage", "embedding", "openness"):
        assert scenario in text
    assert "smoke: not the four-dimension factorial; no synergy to compute" in text


@pytest.mark.slow
def test_notebook_synergy_on_a_factorial_with_a_known_answer(tmp_path, monkeypatch):
    """A fake four_dimensions store: cohesion = 0.3 + 0.02 per package + 0.05 when all four
    are on (+ seed noise shared by every cell): the notebook must report synergy 0.05."""
    base = make_provenance(Config().to_dict())
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    names = []
    for cell in itertools.product([False, True], repeat=4):
        on = [p for p, flag in zip(PACKAGES, cell, strict=True) if flag]
        name = "".join(k if flag else "-" for k, flag in zip("SFIO", cell, strict=True))
        names.append(name)
        for seed in range(3):
            cfg = Config.from_dict(
                {
                    "seed": seed,
                    "model": {"people": 500, "crisis_start": 5, "crisis_weeks": 2},
                    "run": {"steps": 10},
                    "policy": {"name": name},
                    "experiment": {"name": "four_dimensions", "figure": "scenario_bars"},
                }
            )
            prov = copy.deepcopy(base)
            config = cfg.to_dict()
            prov |= {"config": config, "config_hash": config_hash(config), "seed": seed}
            prov |= {"scenario": name, "experiment": "four_dimensions"}
            value = 0.3 + 0.02 * len(on) + 0.05 * (len(on) == 4) + 0.01 * seed
            step = np.arange(1, 11)
            run = pd.DataFrame({"step": step, "seed": seed, "scenario": name})
            run["cohesion"] = value
            run["mobilization"] = np.where(step == 6, value, 0.0)
            write_run(run, result_path(cfg), prov)
    text = "\n".join(execute(tmp_path, "four_dimensions", monkeypatch))
    # all four: 0.08 + 0.05; singles: 4 x 0.02; the shared seed noise cancels (no width)
    assert (
        "synergy of cohesion: 0.0500 [0.0500, 0.0500] (all four 0.1300, sum of singles 0.0800, "
        "3 seeds)"
    ) in text
