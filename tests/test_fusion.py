"""Party-business integration (DESIGN §5.7; paper 3).

The inverted U of integrated work peaks strictly inside (0, 1), in closed form and on the
simulated curve; the four modes order business performance as the paper argues; March's (1991)
code learning moves effort as written; and evaluation by outcomes beats evaluation by traces on
business performance (paired seeds, difference above three standard errors).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import assert_mean_sign, paired_differences

from sim.mechanisms.fusion import code_learning, observed_effect, peak_effort, performance
from sim.model import PartyBuildingModel
from sim.params import ConfigError, ModelParams, PolicyParams

logging.getLogger("MESA").setLevel(logging.WARNING)

DEFAULT = ModelParams()
COEF = dict(
    base=DEFAULT.business_base,
    lift=DEFAULT.business_lift,
    curvature=DEFAULT.business_curvature,
    displacement=DEFAULT.business_displacement,
)


def test_performance_by_hand():
    b = np.array([0.0, 0.25, 0.5, 1.0])
    kw = dict(base=0.5, lift=0.8, curvature=1.0, displacement=0.3)
    np.testing.assert_allclose(performance(b, "integrated", **kw), [0.5, 0.6375, 0.65, 0.3])
    np.testing.assert_allclose(performance(b, "generalized", **kw), [0.5, 0.425, 0.35, 0.2])
    np.testing.assert_allclose(performance(b, "isolated", **kw), 0.5)
    np.testing.assert_allclose(performance(b, "narrowed", **kw), 0.5)
    # the free share scales the lift: half the hours, half the effect
    np.testing.assert_allclose(
        performance(b, "integrated", free=0.5, **kw), [0.5, 0.56875, 0.575, 0.4]
    )
    with pytest.raises(ValueError, match="fusion mode"):
        performance(b, "mixed", **kw)


def test_peak_is_strictly_inside_the_unit_interval_closed_form():
    peak = peak_effort(DEFAULT.business_lift, DEFAULT.business_curvature)
    assert 0 < peak < 1
    grid = np.linspace(0, 1, 100_001)
    for free in (1.0, 0.4):
        curve = performance(grid, "integrated", free=free, **COEF)
        assert grid[np.argmax(curve)] == pytest.approx(peak, abs=1e-5)
        assert curve.max() > curve[0] and curve.max() > curve[-1]


def test_parameters_reject_a_peak_outside():
    with pytest.raises(ConfigError, match="business_lift"):
        ModelParams(business_lift=2.0, business_curvature=1.0)


def simulated_performance(policy: PolicyParams, seed: int, steps: int = 52, **model) -> float:
    params = ModelParams(people=2000, crisis_start=-1, **model)
    m = PartyBuildingModel(params, policy, rng=seed)
    m.run_for(steps)
    return float(m.results()["business_performance"].tail(26).mean())


@pytest.mark.slow
def test_simulated_curve_peaks_strictly_inside():
    efforts = np.round(np.linspace(0, 1, 11), 2)
    curve = np.array(
        [
            np.mean(
                [
                    simulated_performance(
                        PolicyParams(fusion_mode="integrated", integration_effort=float(e)),
                        s,
                        steps=26,
                    )
                    for s in range(3)
                ]
            )
            for e in efforts
        ]
    )
    best = int(np.argmax(curve))
    assert 0 < efforts[best] < 1, curve
    assert curve[best] > curve[0] + 0.01 and curve[best] > curve[-1] + 0.01, curve
    assert (
        abs(efforts[best] - peak_effort(DEFAULT.business_lift, DEFAULT.business_curvature)) <= 0.1
    )


def test_modes_order_business_performance():
    """integrated > isolated = narrowed > generalized at a moderate effort (same seed)."""
    perf = {
        mode: simulated_performance(
            PolicyParams(fusion_mode=mode, integration_effort=0.3), seed=1, steps=26
        )
        for mode in ("narrowed", "isolated", "integrated", "generalized")
    }
    assert perf["integrated"] > perf["isolated"] > perf["generalized"]
    assert perf["isolated"] == pytest.approx(DEFAULT.business_base)
    assert perf["narrowed"] == pytest.approx(DEFAULT.business_base)


def test_narrowed_mode_turns_integration_into_burden():
    def burden(mode: str) -> float:
        m = PartyBuildingModel(
            ModelParams(people=1500), PolicyParams(fusion_mode=mode, integration_effort=0.4), rng=0
        )
        return m.outcomes()["burden"]

    assert burden("narrowed") > burden("isolated") + 0.1


def test_code_learning_by_hand():
    effort = np.array([0.1, 0.3, 0.5, 0.7])
    observed = np.array([0.0, 0.0, 1.0, 1.0])  # the two with more effort do better
    learners = np.ones(4, bool)
    new, code = code_learning(
        effort,
        0.2,
        observed,
        learners,
        code_rate=0.5,
        socialisation=0.25,
        exploration=0.0,
        rng=np.random.default_rng(0),
    )
    assert code == pytest.approx(0.2 + 0.5 * (0.6 - 0.2))  # toward the superior mean
    np.testing.assert_allclose(new, effort + 0.25 * (code - effort))
    # branches without a business do not enter the superior group
    _, code2 = code_learning(
        effort,
        0.2,
        observed,
        np.array([True, True, True, False]),
        0.5,
        0.0,
        0.0,
        np.random.default_rng(0),
    )
    assert code2 == pytest.approx(0.2 + 0.5 * (0.5 - 0.2))


def test_observed_effect_removes_the_burden_confound():
    free = np.array([1.0, 0.5, 0.0])
    perf = performance(np.array([0.4, 0.4, 0.4]), "integrated", free=free, **COEF)
    eff = observed_effect(perf, COEF["base"], free, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(eff, [0.16, 0.16, 0.0], atol=1e-12)


@pytest.mark.slow
def test_evaluation_by_outcomes_beats_traces():
    def perf(evaluation: str, seed: int) -> float:
        policy = PolicyParams(
            fusion_mode="integrated", integration_effort=0.1, evaluation=evaluation
        )
        return simulated_performance(policy, seed, steps=104)

    assert_mean_sign(paired_differences(perf, "outcomes", "traces", range(10)))


@pytest.mark.slow
def test_outcome_evaluation_finds_the_peak_and_leaves_generalisation():
    """Over seeds: the learned code ends near the closed-form peak from below, and moves away
    from generalisation (where any effort lowers performance)."""

    def final_code(mode: str, effort: float, seed: int) -> float:
        m = PartyBuildingModel(
            ModelParams(people=2000, crisis_start=-1),
            PolicyParams(fusion_mode=mode, integration_effort=effort, evaluation="outcomes"),
            rng=seed,
        )
        m.run_for(104)
        return m.branches.code

    seeds = range(8)
    peak = peak_effort(DEFAULT.business_lift, DEFAULT.business_curvature)
    integrated = np.array([final_code("integrated", 0.1, s) for s in seeds])
    assert_mean_sign(integrated - 0.1, +1, "code climbs from 0.1")
    assert abs(integrated.mean() - peak) < 0.1, integrated  # ... to near the peak
    generalized = np.array([final_code("generalized", 0.5, s) for s in seeds])
    assert_mean_sign(generalized - 0.5, -1, "code falls from 0.5")


def test_traces_keep_effort_fixed_and_isolated_mode_does_not_learn():
    for policy in (
        PolicyParams(fusion_mode="integrated", evaluation="traces"),
        PolicyParams(fusion_mode="isolated", evaluation="outcomes"),
    ):
        m = PartyBuildingModel(ModelParams(people=1500), policy, rng=5)
        before = m.branches.effort.copy()
        m.run_for(20)
        np.testing.assert_array_equal(m.branches.effort[: before.size], before)
        assert m.branches.code == policy.integration_effort
