"""Strong foundation (DESIGN §5.1, §5.4, §5.6; paper 2): social change, coverage, embedding.

Comparisons are paired (same seeds, one lever changed) and ask for a difference larger than
three standard errors of the mean paired difference.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_mean_sign, paired_differences

from sim import ModelParams, PartyBuildingModel, PolicyParams
from sim.social_change import batch_hazard
from sim.world import COMMUNITY, JOINT, ONLINE, PLATFORM, PLATFORM_BRANCH, UNIT

SEEDS = range(6)


def run(seed: int, steps: int, model: dict | None = None, **policy) -> PartyBuildingModel:
    params = ModelParams(**{"people": 3000, "crisis_start": -1, **(model or {})})
    m = PartyBuildingModel(params, PolicyParams(**policy), rng=seed)
    m.run_for(steps)
    return m


FAST = {"platform_shift": 0.3, "social_change_every": 13}
NO_NEW_COVERAGE = {"platform_coverage": 0.0, "online_branches": 0.0, "embedding": 0.0}


@pytest.mark.slow
def test_fast_platform_shift_without_new_coverage_makes_members_float():
    rise = []
    for s in SEEDS:
        f = run(s, 104, FAST, **NO_NEW_COVERAGE).results()["floating_members"]
        rise.append(f.iloc[-1] - f.iloc[0])
    assert_mean_sign(rise)


def final_floating(lever: dict, seed: int) -> float:
    """Floating members after two years of fast platform shift, with a coverage lever set."""
    m = run(seed, 104, FAST, **{**NO_NEW_COVERAGE, **lever})
    return m.results()["floating_members"].iloc[-1]


@pytest.mark.slow
def test_online_branches_hold_floating_down():
    change = paired_differences(final_floating, {"online_branches": 1.0}, {}, SEEDS)
    assert_mean_sign(change, -1, "floating members")


@pytest.mark.slow
def test_dual_registration_catches_members_who_lose_their_unit():
    """Embedding: members registered in their community fall back on its branch (paper 2.2)."""
    change = paired_differences(final_floating, {"embedding": 1.0}, {}, SEEDS)
    assert_mean_sign(change, -1, "floating members")


@pytest.mark.slow
def test_floating_gap_larger_without_embedding_at_full_coverage():
    """Embedding as the paper proposes it: dual registration with mutual recognition (2.2)."""

    def gap(embedding: float, seed: int) -> float:
        m = run(seed, 78, coverage=1.0, embedding=embedding, mutual_recognition=True)
        return m.results()["floating_gap"].tail(13).mean()

    assert_mean_sign(paired_differences(gap, 1.0, 0.0, SEEDS), -1)


@pytest.mark.slow
def test_mutual_recognition_lowers_the_load_of_dual_registered_members():
    saved = []
    for s in SEEDS:
        loads = []
        for mutual in (False, True):
            m = run(s, 26, embedding=0.5, mutual_recognition=mutual)
            loads.append(m.load[m.member & m.dual_registered].mean())
        saved.append(loads[0] - loads[1])
    assert_mean_sign(saved)
    m = run(0, 4, embedding=0.5, mutual_recognition=True)
    assert np.all(m.load[~m.member] == 0) and np.all(m.load >= 0)


@pytest.mark.slow
def test_responsiveness_helps_out_of_system_members_most():
    """Organic integration (paper 2.3): answers weigh more outside the state system."""
    gain = []
    for s in SEEDS:
        lo, hi = run(s, 52, responsiveness=0.0), run(s, 52, responsiveness=0.9)
        out = lo.member & lo.out_of_system
        state = lo.member & ~lo.out_of_system
        gain.append(
            (hi.x[out].mean() - lo.x[out].mean()) - (hi.x[state].mean() - lo.x[state].mean())
        )
    assert_mean_sign(gain)


def test_moves_follow_the_yearly_rate_and_rewire_the_movers():
    m = PartyBuildingModel(
        ModelParams(people=20_000, platform_shift=0.2, crisis_start=-1, social_change_every=13),
        PolicyParams(),
        rng=3,
    )
    w = m.world
    stable0 = (w.sector != PLATFORM) & (w.unit >= 0)
    m.run_for(52)
    moved = stable0 & (w.sector == PLATFORM)
    assert m.social_change.moved == moved.sum()
    # the yearly share is exact in expectation: four quarterly batches of the batch hazard
    assert batch_hazard(0.2, 52) == pytest.approx(0.2)
    share = moved.sum() / stable0.sum()
    se = np.sqrt(0.2 * 0.8 / stable0.sum())
    assert abs(share - 0.2) < 4 * se
    # movers' work ties lead only to platform co-workers in their new organisation
    work = w.layers["work"]
    rows = np.repeat(np.arange(w.people), np.diff(work.indptr))
    mover_edges = moved[rows]
    assert np.all(w.unit[rows[mover_edges]] == w.unit[work.indices[mover_edges]])
    assert abs(work - work.T).max() == 0 and work.diagonal().sum() == 0
    assert set(np.unique(work.data)) == {1.0}
    # staff counts follow the moves; the model's operators see the new layers
    assert np.array_equal(w.unit_staff, np.bincount(w.unit[w.unit >= 0], minlength=w.units))
    assert m.influence.adjacency.nnz == (work + w.layers["residence"] + w.layers["online"]).nnz
    assert np.all(m.out_of_system[moved])


def test_branches_after_moves_follow_the_rules():
    m = run(
        5,
        156,
        {"people": 5000, "platform_shift": 0.4, "social_change_every": 13},
        coverage=0.5,
        platform_coverage=0.5,
        online_branches=0.5,
        embedding=0.3,
    )
    w = m.world
    kind = w.branch_kind
    hb = m.home_branch
    members = np.flatnonzero(m.member)
    assert np.all(hb[~m.member] == -1)
    has = members[hb[members] >= 0]
    k = kind[hb[has]]
    # a member's unit or joint branch is the branch of the unit they work in
    work_b = np.isin(k, (UNIT, JOINT, PLATFORM_BRANCH))
    assert np.all(w.unit_branch[w.unit[has[work_b]]] <= hb[has[work_b]])
    assert np.all(w.unit[has[k == PLATFORM_BRANCH]] >= 0)
    assert np.all(w.sector[has[k == PLATFORM_BRANCH]] == PLATFORM)
    # a unit keeps its own branch only with enough full members
    in_unit = m.member & (w.unit >= 0)
    m_unit = np.bincount(w.unit[in_unit], minlength=w.units)
    own = np.flatnonzero(w.unit_branch >= 0)
    own = own[kind[w.unit_branch[own]] == UNIT]
    assert np.all(m_unit[own] >= m.params.branch_min_members)
    assert m.social_change.dissolved > 0
    # dual registration only beside a workplace or online branch
    dual = np.flatnonzero(m.dual_registered)
    assert np.all(hb[dual] >= 0) and not np.any(kind[hb[dual]] == COMMUNITY)
    assert np.all(np.isin(kind, (UNIT, JOINT, PLATFORM_BRANCH, COMMUNITY, ONLINE)))
    assert m.branch_members.sum() == (hb[m.member] >= 0).sum()


def test_operators_rebuilt_only_in_batch_weeks():
    m = PartyBuildingModel(
        ModelParams(people=1000, platform_shift=0.2, crisis_start=-1, social_change_every=13),
        PolicyParams(),
        rng=0,
    )
    calls = []
    original = m._build_operators
    m._build_operators = lambda: (calls.append(m.week), original())[1]
    m.run_for(30)
    every = m.params.social_change_every
    assert calls and all(week % every == 0 for week in calls)
    still = PartyBuildingModel(
        ModelParams(people=1000, platform_shift=0.0, crisis_start=-1), PolicyParams(), rng=0
    )
    layers = dict(still.world.layers)
    still.run_for(30)
    assert all(still.world.layers[k] is layers[k] for k in layers)


def test_coverage_sub_levers():
    """platform_coverage and online_branches take policy.coverage's value when unset."""
    base = PartyBuildingModel(ModelParams(people=3000), PolicyParams(coverage=0.7), rng=2)
    explicit = PartyBuildingModel(
        ModelParams(people=3000),
        PolicyParams(coverage=0.7, platform_coverage=0.7, online_branches=0.7),
        rng=2,
    )
    assert np.array_equal(base.world.branch_kind, explicit.world.branch_kind)
    assert np.array_equal(base.home_branch, explicit.home_branch)
    none = PartyBuildingModel(
        ModelParams(people=3000),
        PolicyParams(coverage=1.0, platform_coverage=0.0, online_branches=0.0),
        rng=2,
    )
    kinds = none.world.branch_kind
    assert not np.any(kinds == PLATFORM_BRANCH) and not np.any(kinds == ONLINE)
    assert np.any(kinds == JOINT)
    full = PartyBuildingModel(
        ModelParams(people=3000),
        PolicyParams(coverage=0.0, platform_coverage=1.0, online_branches=1.0),
        rng=2,
    )
    w = full.world
    staffed_platforms = (w.unit_sector == PLATFORM) & (w.unit_staff > 0)
    assert np.all(w.unit_branch[staffed_platforms] >= 0)
    assert not np.any(w.branch_kind == JOINT)
    assert np.all(full.home_branch[full.member] >= 0)  # everyone unattached went online
    out = full.outcomes()
    assert out["floating_gap"] == pytest.approx(out["formal_coverage"] - out["effective_coverage"])
