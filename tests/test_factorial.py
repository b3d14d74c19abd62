"""The four-dimension factorial: its cells' levers and its estimators (experiments/factorial.py).

The estimators are checked on synthetic outcomes with known effects: a seed's own level, shared
by all its cells, must cancel exactly (pairing); noise must leave the truth inside the interval.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from experiments import factorial as fx
from sim.params import ConfigError, PolicyParams

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
#: Package file of each dimension letter.
PACKAGE_FILES = {"S": "subject", "F": "foundation", "I": "fusion", "O": "openness"}


@functools.cache
def _policy(package: str) -> PolicyParams:
    """A package's policy (composed once: composing is slow)."""
    return sim.load_config([f"policy={package}"]).policy


def _package_levers(name: str) -> dict:
    """The levers a package file sets on top of the baseline (not its name or defaults)."""
    data = yaml.safe_load((CONFIGS / "policy" / f"{name}.yaml").read_text())
    return {k: v for k, v in data.items() if k not in ("defaults", "name")}


# --------------------------------------------------------------------------- the cells' levers


def test_packages_set_disjoint_levers() -> None:
    seen: dict[str, str] = {}
    for name in PACKAGE_FILES.values():
        for lever in _package_levers(name):
            assert lever not in seen, f"{lever} set by {seen[lever]} and {name}"
            seen[lever] = name


@pytest.mark.parametrize("cell", fx.cells())
def test_each_cell_is_the_union_of_its_packages(cell: str) -> None:
    got = sim.load_config(["policy=four_dimensions", f"policy.name={cell}"]).policy
    base = _policy("baseline")
    for letter, name in PACKAGE_FILES.items():
        package = _policy(name)
        for lever in _package_levers(name):
            want = getattr(package if letter in cell else base, lever)
            assert getattr(got, lever) == want, (cell, lever)
    # every other lever stays at the baseline
    set_levers = {lv for n in PACKAGE_FILES.values() for lv in _package_levers(n)}
    for lever in PolicyParams.__dataclass_fields__:
        if lever not in set_levers and lever != "name":
            assert getattr(got, lever) == getattr(base, lever), (cell, lever)


def test_all_four_matches_the_golden_union() -> None:
    spec = importlib.util.spec_from_file_location(
        "golden_generate", Path(__file__).parent / "golden" / "generate.py"
    )
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    union = sim.load_config(golden.CASES["four_dimensions"]).policy
    package = sim.load_config(["policy=four_dimensions"]).policy  # its own name: all four on
    cell = sim.load_config(["policy=four_dimensions", "policy.name=SFIO"]).policy
    assert package.name == "four_dimensions"
    assert package.replace(name=union.name) == union == cell.replace(name=union.name)


def test_a_bad_cell_name_is_one_line_naming_it() -> None:
    with pytest.raises(ConfigError) as err:
        sim.load_config(["policy=four_dimensions", "policy.name=SXIO"])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("policy.name = 'SXIO'")


def test_the_experiment_sweeps_every_cell_with_paired_seeds() -> None:
    from sim.config import expand_sweep, load_configs

    configs = load_configs(expand_sweep(["experiment=four_dimensions"]))
    cells = {c.scenario for c in configs}
    assert cells == set(fx.cells())
    seeds = {c.seed for c in configs}
    assert len(configs) == len(cells) * len(seeds)
    assert set(configs[0].experiment.policies) == set(fx.cells())
    assert all(c.model.crisis_start + c.model.crisis_weeks <= c.run.steps for c in configs)


# --------------------------------------------------------------------------- the estimators


def test_cells_and_terms() -> None:
    assert len(fx.cells()) == 16 and len(set(fx.cells())) == 16
    assert fx.cells()[0] == "----" and fx.cells()[-1] == "SFIO"
    assert fx.terms()[:4] == ["S", "F", "I", "O"] and fx.terms()[-1] == "SFIO"
    assert len(fx.terms()) == 15
    assert fx.contrast("SF", "S---") == -1 and fx.contrast("SF", "----") == 1
    with pytest.raises(ValueError, match="'SFOI'"):
        fx.codes("SFOI")


#: Known coefficients of a full +-1 model (y = mu + sum beta_T x_T); effects are 2 beta.
BETA = {"S": 0.10, "F": -0.05, "I": 0.0, "O": 0.02, "SF": 0.03, "IO": -0.01, "SFI": 0.004}


def _synthetic(seeds: int, noise: float, rng: int = 0) -> pd.DataFrame:
    """Runs of every cell and seed: the known model, a seed level shared by the cells, noise."""
    gen = np.random.default_rng(rng)
    rows = []
    for seed in range(seeds):
        level = gen.normal(0, 1.0)  # what a seed does to every cell: must cancel
        for cell in fx.cells():
            y = 0.5 + level + sum(b * fx.contrast(t, cell) for t, b in BETA.items())
            rows.append(
                {
                    "scenario": cell,
                    "seed": seed,
                    "cohesion": y + gen.normal(0, noise),
                    "mobilization": -y,
                }
            )
    return pd.DataFrame(rows)


def test_effects_recover_known_coefficients_exactly_without_noise() -> None:
    effects = fx.factorial_effects(_synthetic(seeds=5, noise=0.0))
    for metric, sign in (("cohesion", 1), ("mobilization", -1)):
        part = effects[effects["metric"] == metric].set_index("term")
        for term in fx.terms():
            assert part.loc[term, "mean"] == pytest.approx(
                sign * 2 * BETA.get(term, 0.0), abs=1e-12
            )
            # the seed level cancels within each seed: no spread at all
            assert part.loc[term, "half_width"] == pytest.approx(0.0, abs=1e-12)
        assert (part["n"] == 5).all()


def test_intervals_cover_the_truth_with_noise() -> None:
    effects = fx.factorial_effects(_synthetic(seeds=30, noise=0.02, rng=3))
    part = effects[effects["metric"] == "cohesion"].set_index("term")
    truth = pd.Series({t: 2 * BETA.get(t, 0.0) for t in fx.terms()})
    inside = (part["ci_low"] <= truth) & (truth <= part["ci_high"])
    assert inside.sum() >= 13  # 95% intervals: 15 x 0.95; a fixed draw, so no flakiness
    assert (part["half_width"] > 0).all()
    assert part.loc["S", "ci_low"] > 0.15  # a large effect is found


def test_synergy_is_zero_when_additive_and_four_beta_sf_with_an_sf_interaction() -> None:
    data = _synthetic(seeds=4, noise=0.0)
    syn = fx.synergy(data).set_index(["metric", "term"])

    # the truth, evaluated from the known model at the five cells the synergy uses
    def y(cell: str) -> float:
        return sum(b * fx.contrast(t, cell) for t, b in BETA.items())

    whole = y("SFIO") - y("----")
    parts = sum(y(fx.single(d)) - y("----") for d in fx.DIMENSIONS)
    assert syn.loc[("cohesion", "synergy"), "mean"] == pytest.approx(whole - parts, abs=1e-12)
    assert syn.loc[("cohesion", "whole"), "mean"] == pytest.approx(whole, abs=1e-12)
    # a hand check of one case: only an SF interaction gives synergy 4 beta_SF
    rows = [
        {"scenario": c, "seed": s, "cohesion": 0.3 * fx.contrast("SF", c) + s}
        for c in fx.cells()
        for s in range(3)
    ]
    only_sf = fx.synergy(pd.DataFrame(rows)).set_index("term")
    assert only_sf.loc["synergy", "mean"] == pytest.approx(4 * 0.3)
    # and a purely additive model has none
    rows = [
        {"scenario": c, "seed": s, "cohesion": 0.3 * fx.codes(c)["S"] - 0.1 * fx.codes(c)["O"] + s}
        for c in fx.cells()
        for s in range(3)
    ]
    additive = fx.synergy(pd.DataFrame(rows)).set_index("term")
    assert additive.loc["synergy", "mean"] == pytest.approx(0.0, abs=1e-12)
    assert additive.loc["whole", "mean"] == pytest.approx(2 * 0.3 - 2 * 0.1)


def test_conditional_effects_show_the_interaction() -> None:
    rows = [
        {"scenario": c, "seed": s, "cohesion": 0.3 * fx.contrast("SF", c) + 0.2 * fx.codes(c)["S"]}
        for c in fx.cells()
        for s in range(3)
    ]
    cond = fx.conditional_effects(pd.DataFrame(rows)).set_index(["dimension", "context"])
    # S alone: x_S -1 -> +1 (0.4), x_S x_F +1 -> -1 (-0.6); with others: +0.4, +0.6
    assert cond.loc[("S", "alone"), "mean"] == pytest.approx(-0.2)
    assert cond.loc[("S", "with others"), "mean"] == pytest.approx(1.0)
    assert cond.loc[("S", "difference"), "mean"] == pytest.approx(1.2)
    assert cond.loc[("I", "difference"), "mean"] == pytest.approx(0.0)


def test_incomplete_seeds_are_left_out_and_none_complete_fails() -> None:
    data = _synthetic(seeds=3, noise=0.0)
    data = data[~((data["seed"] == 2) & (data["scenario"] == "SF--"))]
    assert set(fx.factorial_effects(data)["n"]) == {2}
    with pytest.raises(ValueError, match="no seed has all 16 cells"):
        fx.factorial_effects(data[data["scenario"] != "SFIO"])


def test_run_outcomes_reduce_final_year_and_peak() -> None:
    steps = np.arange(1, 105)
    run = pd.DataFrame(
        {
            "scenario": "----",
            "seed": 0,
            "step": steps,
            "cohesion": np.where(steps > 52, 1.0, 0.0),
            "mobilization": np.where(steps == 60, 0.4, 0.0),
            "identification": 0.5,
            "unmet_needs": steps / 100,
        }
    )
    out = fx.run_outcomes(run).iloc[0]
    assert out["cohesion"] == 1.0 and out["mobilization"] == 0.4
    assert out["unmet_needs"] == pytest.approx(np.mean(steps[52:]) / 100)


# --------------------------------------------------------------------------- the figure


@pytest.mark.slow  # 32 runs
def test_figure_from_a_tiny_stored_factorial(tmp_path, monkeypatch):
    from stored import store_experiment

    from experiments.figures import draw
    from experiments.provenance import ExperimentRecord

    cells = [["policy=four_dimensions", f"policy.name={c}"] for c in fx.cells()]
    store_experiment(tmp_path, "fd", cells, seeds=2)
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    record = ExperimentRecord.read("fd")
    assert set(record.scenarios) == set(fx.cells())
    drawing = draw("four_dimensions", record)
    assert len(drawing.figure.axes) == 8  # effects and interaction plot, per outcome
    assert "over 2 seeds per cell" in drawing.caption and "call in weeks 14-19" in drawing.caption
    summary = drawing.summary
    effects = summary[summary["kind"] == "effect"]
    assert len(effects) == 15 * 4 and set(effects["n"]) == {2}
    assert (effects["ci_low"] <= effects["ci_high"]).all()
    assert set(summary.loc[summary["kind"] == "synergy", "term"]) == {
        "whole",
        "sum of singles",
        "synergy",
    }
    assert len(summary[summary["kind"] == "cell"]) == 16 * 4
