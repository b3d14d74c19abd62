"""The crisis call: per-group mobilization outcomes (sim.outcomes) and their analysis
(experiments/crisis.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from experiments import crisis
from sim.model import PartyBuildingModel
from sim.state import SECTORS


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    cfg = sim.load_config(
        ["model.people=2000", "run.steps=30", "model.crisis_start=20", "model.crisis_weeks=6"]
    )
    return sim.simulate(cfg, rng=3)


def test_group_shares_add_up_to_the_total(frame) -> None:
    """Members and masses, and the sectors, partition the people: their shares, weighted by
    group size, give the total active share every week."""
    cfg = sim.load_config(["model.people=2000", "model.crisis_start=2", "model.crisis_weeks=3"])
    model = PartyBuildingModel.from_config(cfg, rng=3)
    for _ in range(4):
        model.step()
        out = model.outcomes()
        people = model.people
        n = people.n
        members = people.member.sum()
        total = (
            out["mobilization_members"] * members + out["mobilization_masses"] * (n - members)
        ) / n
        assert total == pytest.approx(out["mobilization"], abs=1e-12)
        sizes = np.bincount(people.sector, minlength=len(SECTORS))
        by_sector = sum(out[f"mobilization_{s}"] * sizes[i] for i, s in enumerate(SECTORS)) / n
        assert by_sector == pytest.approx(out["mobilization"], abs=1e-12)


def test_groups_are_zero_outside_the_call_and_members_turn_out_more(frame) -> None:
    outside = frame[(frame["step"] < 20) | (frame["step"] >= 26)]
    for column in crisis.GROUPS.values():
        assert (outside[column] == 0).all(), column
    inside = frame[(frame["step"] >= 20) & (frame["step"] < 26)]
    assert (inside["mobilization"] > 0).all()
    # members have the extra motivation m_M: they turn out more than the masses
    assert (inside["mobilization_members"] > inside["mobilization_masses"]).all()


def test_half_peak_weeks_interpolates_from_zero_at_the_call() -> None:
    assert crisis.half_peak_weeks([0.2, 0.4, 0.4]) == pytest.approx(1.0)
    assert crisis.half_peak_weeks([0.1, 0.3, 0.4]) == pytest.approx(1.5)  # 0.2 between 0.1, 0.3
    assert crisis.half_peak_weeks([0.4, 0.4]) == pytest.approx(0.5)
    assert np.isnan(crisis.half_peak_weeks([0.0, 0.0]))


def test_call_curves_and_summary_pair_by_seed(frame) -> None:
    runs = pd.concat(
        [frame.assign(scenario="baseline"), frame.assign(scenario="other")], ignore_index=True
    )
    # "other" turns out exactly twice as much among members, in every week
    mask = runs["scenario"] == "other"
    runs.loc[mask, "mobilization_members"] *= 2
    curves = crisis.call_curves(runs, start=20, weeks=6)
    assert set(curves["week"]) == set(range(0, 7))
    assert (curves.loc[curves["week"] == 0, "share"] == 0).all()
    table = crisis.call_summary(curves, "baseline", ["baseline", "other"])
    peak = table[(table["metric"] == "peak") & (table["group"] == "members")]
    levels = peak[peak["quantity"] == "level"].set_index("scenario")["mean"]
    assert levels["other"] == pytest.approx(2 * levels["baseline"])
    diff = peak[peak["quantity"] == "minus baseline"].set_index("scenario")["mean"]
    assert diff["baseline"] == 0 and diff["other"] == pytest.approx(levels["baseline"])
    # scaling a curve does not move its time to half the peak
    half = table[(table["metric"] == "half_peak_weeks") & (table["quantity"] == "level")]
    half = half[half["group"] == "members"].set_index("scenario")["mean"]
    assert half["other"] == pytest.approx(half["baseline"])
    assert 0 < half["baseline"] <= 6


def test_results_without_group_columns_fail_with_one_line(frame) -> None:
    with pytest.raises(ValueError, match="mobilization_members.*rerun"):
        crisis.call_curves(frame.drop(columns="mobilization_members"), 20, 6)


def test_figure_from_a_tiny_stored_crisis(tmp_path, monkeypatch) -> None:
    from stored import store_experiment

    from experiments.figures import draw
    from experiments.provenance import ExperimentRecord

    store_experiment(tmp_path, "cr", [["policy=baseline"], ["policy=four_dimensions"]], seeds=2)
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    record = ExperimentRecord.read("cr")
    drawing = draw("crisis_curves", record)
    assert len(drawing.figure.axes) == 2 * 2 + 2  # two rows of curves per scenario, two dots
    assert "call in weeks 14-19" in drawing.caption
    table = drawing.summary
    assert set(table["group"]) == set(crisis.GROUPS)
    assert set(table["quantity"]) == {"level", "minus baseline"}
    diff = table[(table["quantity"] == "minus baseline") & (table["scenario"] == "baseline")]
    assert (diff["mean"] == 0).all()
