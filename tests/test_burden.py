"""Assessment and burden (DESIGN §5.2, Appendix A; paper 1.1 and 3.1).

The demand formula ``D = D0 g(d) H (1 + trace)`` is checked against values computed by hand,
the split of a branch's hours against hand-made cases, and the model-level consequences with
paired seeds: more escalation means more burden and lower cohesion, a unified table less burden.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import assert_mean_sign, paired_differences

from sim.mechanisms.assessment import (
    allocate_capacity,
    assessment_demand,
    demand,
    demand_factor,
    paperwork_hours,
)
from sim.model import PartyBuildingModel
from sim.params import ModelParams, PolicyParams

logging.getLogger("MESA").setLevel(logging.WARNING)


# ---------------------------------------------------------------------- the demand formula


@pytest.mark.parametrize(
    ("depth", "expected"),
    # D0 = 2 indicators, escalation 0.1, 3 departments, trace 0.5: 2 * 1.1^d * 3 * 1.5
    [(0, 9.0), (1, 9.9), (2, 10.89), (3, 11.979), (4, 13.1769)],
)
def test_escalation_compounds_per_layer(depth, expected):
    d = assessment_demand(2.0, depth, escalation=0.1, departments=3, unified_table=False, trace=0.5)
    assert float(d) == pytest.approx(expected, rel=1e-12)


def test_escalation_of_one_doubles_per_layer():
    d = assessment_demand(
        1.0, np.arange(5), escalation=1.0, departments=1, unified_table=False, trace=0.0
    )
    np.testing.assert_allclose(d, [1, 2, 4, 8, 16], rtol=0, atol=1e-12)


def test_unified_table_counts_one_department():
    kw = dict(escalation=0.0, trace=0.0)
    separate = assessment_demand(1.0, 2, departments=4, unified_table=False, **kw)
    unified = assessment_demand(1.0, 2, departments=4, unified_table=True, **kw)
    assert float(separate) == pytest.approx(4.0, abs=1e-12)
    assert float(unified) == pytest.approx(1.0, abs=1e-12)


def test_trace_requirement_multiplies_by_one_plus_trace():
    d = assessment_demand(3.0, 0, escalation=0.2, departments=2, unified_table=False, trace=1.5)
    assert float(d) == pytest.approx(3.0 * 2 * 2.5, abs=1e-12)


@pytest.mark.parametrize(("depth", "expected"), [(0, 1.0), (1, 0.7), (2, 0.49), (3, 0.343)])
def test_simplify_downward_shrinks_with_depth_and_ignores_escalation(depth, expected):
    g = demand_factor(depth, escalation=0.5, simplify_downward=True, simplify_share=0.3)
    assert float(g) == pytest.approx(expected, rel=1e-12)
    # D0 = 2, 3 departments, trace 0.5, s = 0.3: 2 * 0.7^d * 3 * 1.5
    d = assessment_demand(
        2.0,
        depth,
        escalation=0.5,
        departments=3,
        unified_table=False,
        trace=0.5,
        simplify_downward=True,
        simplify_share=0.3,
    )
    assert float(d) == pytest.approx(9.0 * expected, rel=1e-12)


def test_paperwork_is_capped_by_capacity():
    cap = np.array([2.0, 10.0, 100.0])
    np.testing.assert_allclose(paperwork_hours(cap, 10.0, 0.5), [2.0, 5.0, 5.0])


# ---------------------------------------------------------------------- the split of hours


@pytest.mark.parametrize(
    ("mode", "burden", "service", "life", "business"),
    # capacity 10, assessment 4 hours, B = 0.5 of the 6 free hours, split 1:1, credit 0.5
    [
        ("isolated", 0.4, 1.5, 1.5, 3.0),
        ("generalized", 0.4, 1.5, 1.5, 3.0),
        ("integrated", 0.4, 1.5, 3.0, 3.0),
        ("narrowed", 0.7, 1.5, 1.5, 0.0),
    ],
)
def test_allocation_by_mode(mode, burden, service, life, business):
    a = allocate_capacity(np.array([10.0]), np.array([4.0]), 0.5, mode, 0.5, 0.5, 0.5)
    assert a.burden[0] == pytest.approx(burden)
    assert a.service[0] == pytest.approx(service)
    assert a.life[0] == pytest.approx(life)
    assert a.business[0] == pytest.approx(business)
    assert a.free[0] == pytest.approx(0.6)


def test_allocation_uses_every_hour_once():
    rng = np.random.default_rng(3)
    cap = rng.uniform(0, 40, 200)
    paper = rng.uniform(0, 40, 200)
    effort = rng.uniform(0, 1, 200)
    for mode in ("isolated", "generalized", "narrowed"):
        a = allocate_capacity(cap, paper, effort, mode, 0.3, 0.7)
        np.testing.assert_allclose(a.paperwork + a.service + a.life + a.business, cap)
        assert np.all((a.burden >= 0) & (a.burden <= 1))


def test_zero_capacity_branch_is_all_burden():
    a = allocate_capacity(np.array([0.0]), np.array([3.0]), 0.2, "isolated", 0.5, 0.5)
    assert a.burden[0] == 1.0 and a.service[0] == 0.0 and a.free[0] == 0.0


def test_model_demand_at_default_depth():
    """Default: 3 levels (branches at depth 2), 3 departments, escalation 0.1, trace 0.5."""
    m = PartyBuildingModel(ModelParams(people=500), PolicyParams(), rng=0)
    assert m.state.hierarchy.depth == 2
    d = demand(m.params, m.policy, m.state.hierarchy.depth)
    assert d == pytest.approx(2.0 * 1.1**2 * 3 * 1.5, rel=1e-12)
    cap = m.branches.capacity
    expected = np.minimum(cap, 0.55 * d) / cap
    np.testing.assert_allclose(m.branches.burden, expected, rtol=1e-12)


def test_default_baseline_burden_is_moderate():
    """The calibration target: mean member-weighted burden about 0.2-0.3 at the defaults."""
    m = PartyBuildingModel(ModelParams(people=10_000), PolicyParams(), rng=0)
    assert 0.15 < m.outcomes()["burden"] < 0.35


# ---------------------------------------------------------------------- replicates, paired seeds

SEEDS = range(10)


def final_year(policy: PolicyParams, seed: int, **model) -> dict[str, float]:
    params = ModelParams(people=2000, crisis_start=-1, **model)
    m = PartyBuildingModel(params, policy, rng=seed)
    m.run_for(104)
    return m.results().tail(52).mean().to_dict()


def paired(low: PolicyParams, high: PolicyParams) -> dict[str, np.ndarray]:
    """Per seed and outcome: the final-year mean under ``high`` minus that under ``low``."""
    return paired_differences(final_year, high, low, SEEDS)


@pytest.mark.slow
def test_more_escalation_more_burden_lower_cohesion():
    diff = paired(PolicyParams(escalation=0.0), PolicyParams(escalation=0.5))
    assert_mean_sign(diff["burden"], +1, "burden")
    assert_mean_sign(diff["cohesion"], -1, "cohesion")


@pytest.mark.slow
def test_deeper_hierarchy_more_burden_under_escalation():
    policy = PolicyParams(escalation=0.3)
    deep_minus_shallow = paired_differences(
        lambda levels, seed: final_year(policy, seed, levels=levels)["burden"], 5, 2, SEEDS
    )
    assert_mean_sign(deep_minus_shallow, +1, "burden")


@pytest.mark.slow
def test_unified_table_less_burden():
    assert_mean_sign(paired(PolicyParams(), PolicyParams(unified_table=True))["burden"], -1)


@pytest.mark.slow
def test_simplify_downward_less_burden():
    assert_mean_sign(paired(PolicyParams(), PolicyParams(simplify_downward=True))["burden"], -1)
