"""The sensitivity experiment: its estimators against closed forms, and the command end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from experiments import sensitivity as sa


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_match_the_ishigami_closed_form():
    """Ishigami (a=7, b=0.1): S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244)."""
    chosen = [sa.Factor(f"model.x{i}", -np.pi, np.pi) for i in range(3)]
    x = sobol_sample.sample(sa.problem(chosen), 4096, calc_second_order=False, seed=1)
    y = ishigami(x)
    frame = pd.DataFrame({o: y for o in sa.OUTCOMES})
    table = sa.sobol_indices(frame, chosen, seed=1).query("outcome == 'cohesion'")
    s1 = np.array([0.3139, 0.4424, 0.0])
    st = np.array([0.5576, 0.4424, 0.2437])
    assert np.allclose(table.S1, s1, atol=0.03)
    assert np.allclose(table.ST, st, atol=0.03)
    # the intervals are honest: they cover the truth
    assert (np.abs(table.S1.to_numpy() - s1) <= table.S1_conf.to_numpy() + 0.01).all()


def test_morris_ranks_a_linear_function_by_its_slopes_with_no_spread():
    """y = sum a_i x_i: mu* proportional to |a_i| x range, sigma 0 (no interaction)."""
    chosen = [sa.Factor("policy.a", 0.0, 1.0), sa.Factor("policy.b", 0.0, 2.0)]
    chosen += [sa.Factor("model.c", 0.0, 1.0)]
    slopes = np.array([3.0, -1.0, 0.0])
    x = morris_sample.sample(sa.problem(chosen), 20, num_levels=4, seed=2)
    frame = pd.DataFrame({o: x @ slopes for o in sa.OUTCOMES})
    table = sa.morris_indices(x, frame, chosen, levels=4, seed=2).query("outcome == 'cohesion'")
    assert np.allclose(table.mu_star, [3.0, 2.0, 0.0], atol=1e-9)
    assert np.allclose(table.sigma, 0.0, atol=1e-9)
    assert sa.top_factors(pd.concat([table]), 2) == ["policy.a", "policy.b"]


def test_two_level_factors_map_design_values_to_their_levels():
    f = sa.Factor("policy.evaluation", "traces", "outcomes")
    assert f.discrete and f.bounds == [0.0, 1.0]
    assert (f.value(0.49), f.value(0.5)) == ("traces", "outcomes")
    assert sa.Factor("model.x", 0.1, 0.4).value(0.25) == 0.25


def test_every_lever_and_key_assumption_is_a_factor():
    from experiments.validate import LEVERS

    names = {f.name for f in sa.factors()}
    assert {f"policy.{k}" for k in LEVERS} <= names
    assert {f"model.{k}" for k in sa.key_assumptions()} <= names


def test_bad_sizes_fail_with_one_line(capsys):
    assert sa.main(["--sobol-n", "100"]) == 2
    assert capsys.readouterr().out.strip() == "config error: --sobol-n = 100: must be a power of 2"


@pytest.mark.slow
def test_smoke_design_runs_draws_and_is_reused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    assert sa.main(["--smoke", "--jobs", "2"]) == 0
    folder = tmp_path / "sensitivity"
    morris = pd.read_csv(folder / "morris.csv")
    assert set(morris.outcome) == set(sa.OUTCOMES)
    assert len(morris) == len(sa.factors()) * len(sa.OUTCOMES)
    sobol = pd.read_csv(folder / "sobol.csv")
    assert sobol.factor.nunique() == 2
    for name in ("sensitivity_morris", "sensitivity_sobol"):
        assert (folder / "figures" / f"{name}.pdf").stat().st_size > 0
        assert (folder / "figures" / f"{name}.png").stat().st_size > 0
    # `make figures` (python -m experiments.figures --all) redraws them from the stored tables
    from experiments.figures.cli import main as figures_main

    (folder / "figures" / "sensitivity_sobol.png").unlink()
    assert figures_main(["--all"]) == 0
    assert (folder / "figures" / "sensitivity_sobol.png").exists()
    capsys.readouterr()
    assert sa.main(["--smoke", "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "morris: reusing" in err and "sobol: reusing" in err
