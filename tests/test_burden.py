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
    allocate_hours,
    branch_demand,
    chain_factor,
    effective_heads,
    effective_life,
)
from sim.model import PartyBuildingModel
from sim.params import ModelParams, PolicyParams

logging.getLogger("MESA").setLevel(logging.WARNING)


# ---------------------------------------------------------------------- the demand formula


def chain(margins, simplify=0.0):
    """A single chain of committees, top first: level i's parent is level i - 1."""
    k = len(margins)
    return chain_factor(np.asarray(margins, float), np.arange(-1, k - 1), np.arange(k), simplify)


def test_escalation_compounds_down_each_chain():
    # each committee multiplies what it passes down by (1 + its own margin)
    np.testing.assert_allclose(chain([0.1, 0.1, 0.1]), [1.1, 1.21, 1.331], rtol=1e-12)
    np.testing.assert_allclose(chain([1.0, 0.0, 0.5]), [2.0, 2.0, 3.0], rtol=1e-12)


def test_simplification_composes_with_escalation():
    # (1 + e)(1 - s) per committee: simplifying does not switch escalation off
    np.testing.assert_allclose(chain([0.5, 0.5], 0.3), [1.05, 1.1025], rtol=1e-12)
    np.testing.assert_allclose(chain([0.0, 0.0], 0.3), [0.7, 0.49], rtol=1e-12)


def test_a_unified_table_is_lighter_than_separate_tables_and_heavier_than_one():
    assert effective_heads(3, False, 0.5) == 3.0
    assert effective_heads(3, True, 0.5) == pytest.approx(2.0)  # 1 + 2 * (1 - 0.5)
    assert effective_heads(1, True, 0.5) == 1.0
    for overlap in (0.1, 0.5, 0.9):
        assert 1.0 < effective_heads(4, True, overlap) < effective_heads(4, False, overlap)


def test_branch_demand_by_hand_and_trace_relief_under_outcome_evaluation():
    m = PartyBuildingModel(ModelParams(people=500, escalation_spread=0.0), PolicyParams(), rng=0)
    b, h, p = m.branches, m.state.hierarchy, m.params
    # no spread: every committee's margin is the policy's 0.1, two committees above a branch
    np.testing.assert_allclose(h.margin, 0.1)
    expected = 2.0 * 1.1**2 * 3 * 1.5
    np.testing.assert_allclose(branch_demand(b, h, p, m.policy), expected, rtol=1e-12)
    outcomes = m.policy.replace(evaluation="outcomes")
    relieved = 2.0 * 1.1**2 * 3 * (1 + 0.5 * (1 - p.outcome_trace_relief))
    np.testing.assert_allclose(branch_demand(b, h, p, outcomes), relieved, rtol=1e-12)
    cap = m.branches.capacity
    np.testing.assert_allclose(
        m.branches.burden, np.minimum(cap, 0.55 * expected) / cap, rtol=1e-12
    )


def test_committees_draw_their_own_margins_around_the_policy():
    params = ModelParams(people=20_000, community_size=500, communities_per_street=1)
    m = PartyBuildingModel(params, PolicyParams(escalation=0.2), rng=1)
    margin = m.state.hierarchy.margin
    assert margin.size > 10 and margin.std() > 0  # committees differ ...
    assert abs(margin.mean() - 0.2) < 4 * margin.std() / np.sqrt(margin.size)  # ... around 0.2
    assert np.all(m.branches.demand > 0) and m.branches.demand.std() > 0


# ---------------------------------------------------------------------- the hours


@pytest.mark.parametrize(
    ("mode", "burden", "service", "life", "joint"),
    # capacity 10, assessment 4 hours, B = 0.5 of the 6 free hours, the rest split 1:1
    [
        ("isolated", 0.4, 1.5, 1.5, 3.0),
        ("generalized", 0.4, 1.5, 1.5, 3.0),
        ("integrated", 0.4, 1.5, 1.5, 3.0),
        ("narrowed", 0.7, 1.5, 1.5, 0.0),
    ],
)
def test_allocation_by_mode(mode, burden, service, life, joint):
    a = allocate_hours(np.array([10.0]), np.array([4.0]), 0.5, mode, 0.5, 0.5)
    assert a.burden[0] == pytest.approx(burden)
    assert a.service[0] == pytest.approx(service)
    assert a.life[0] == pytest.approx(life)
    assert a.joint[0] == pytest.approx(joint)
    assert a.free[0] == pytest.approx(0.6)


def test_every_hour_goes_somewhere_named_in_every_mode():
    rng = np.random.default_rng(3)
    cap = rng.uniform(0, 40, 200)
    paper = rng.uniform(0, 40, 200)
    effort = rng.uniform(0, 1, 200)
    for mode in ("isolated", "generalized", "integrated", "narrowed"):
        a = allocate_hours(cap, paper, effort, mode, 0.3, 0.7)
        np.testing.assert_allclose(a.paperwork + a.service + a.life + a.joint, cap)
        assert np.all((a.burden >= 0) & (a.burden <= 1))


def test_integration_hours_count_as_life_at_the_mode_s_quality():
    m = PartyBuildingModel(ModelParams(people=500), PolicyParams(integration_effort=0.5), rng=0)
    b, p = m.branches, m.params
    for mode, q in (
        ("integrated", p.integration_life),
        ("isolated", p.ritual_quality),
        ("generalized", 1.0),
    ):
        np.testing.assert_allclose(effective_life(b, p, mode), b.life + q * b.joint)
    assert 0 < p.ritual_quality < 1  # ritual life is life of lower quality, not nothing


def test_zero_capacity_branch_is_all_burden():
    a = allocate_hours(np.array([0.0]), np.array([3.0]), 0.2, "isolated", 0.5, 0.5)
    assert a.burden[0] == 1.0 and a.service[0] == 0.0 and a.free[0] == 0.0


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
