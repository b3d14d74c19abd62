"""Strong foundation (DESIGN §5.1, §5.4, §5.6; paper 2): social change, coverage, embedding.

Comparisons are paired (same seeds, one lever changed) and ask for a difference larger than
three standard errors of the mean paired difference.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_mean_sign, paired_differences

from sim import ModelParams, PartyBuildingModel, PolicyParams
from sim.mechanisms import commitment
from sim.mechanisms.social_change import batch_hazard
from sim.state import COMMUNITY, JOINT, ONLINE, PLATFORM, PLATFORM_BRANCH, UNIT

SEEDS = range(10)
#: no deaths or retirements: social change alone moves people
STILL = {"mortality_base": 0.0, "retirement_age": 100}


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
def test_mutual_recognition_lowers_the_load_of_dual_registered_members():
    saved = []
    for s in SEEDS:
        loads = []
        for mutual in (False, True):
            m = run(s, 26, embedding=0.5, mutual_recognition=mutual)
            load = commitment.load(m.state, m.params, m.policy)
            loads.append(load[m.people.member & m.people.dual_registered].mean())
        saved.append(loads[0] - loads[1])
    assert_mean_sign(saved)
    m = run(0, 4, embedding=0.5, mutual_recognition=True)
    load = commitment.load(m.state, m.params, m.policy)
    assert np.all(load[~m.people.member] == 0) and np.all(load >= 0)


@pytest.mark.slow
def test_responsiveness_helps_out_of_system_members_most():
    """Organic integration (paper 2.3): answers weigh more outside the state system."""
    gain = []
    for s in SEEDS:
        lo, hi = run(s, 52, responsiveness=0.0), run(s, 52, responsiveness=0.9)
        out = lo.people.member & lo.people.out_of_system
        state = lo.people.member & ~lo.people.out_of_system
        x_hi, x_lo = hi.people.commitment, lo.people.commitment
        gain.append(
            (x_hi[out].mean() - x_lo[out].mean()) - (x_hi[state].mean() - x_lo[state].mean())
        )
    assert_mean_sign(gain)


def test_moves_follow_the_yearly_rate_and_rewire_the_movers():
    m = PartyBuildingModel(
        ModelParams(
            people=20_000, platform_shift=0.2, crisis_start=-1, social_change_every=13, **STILL
        ),
        PolicyParams(),
        rng=3,
    )
    w = m.state
    stable0 = (w.people.sector != PLATFORM) & (w.people.unit >= 0)
    m.run_for(52)
    moved = stable0 & (w.people.sector == PLATFORM)
    assert m.people.moved == moved.sum()
    # the yearly share is exact in expectation: four quarterly batches of the batch hazard
    assert batch_hazard(0.2, 52) == pytest.approx(0.2)
    share = moved.sum() / stable0.sum()
    se = np.sqrt(0.2 * 0.8 / stable0.sum())
    assert abs(share - 0.2) < 4 * se
    # movers' work ties lead only to platform co-workers in their new organisation
    work = w.network.layers["work"]
    rows = np.repeat(np.arange(w.people.n), np.diff(work.indptr))
    mover_edges = moved[rows]
    assert np.all(w.people.unit[rows[mover_edges]] == w.people.unit[work.indices[mover_edges]])
    assert abs(work - work.T).max() == 0 and work.diagonal().sum() == 0
    assert set(np.unique(work.data)) == {1.0}
    # staff counts follow the moves; the model's operators see the new layers
    staff = np.bincount(w.people.unit[w.people.unit >= 0], minlength=w.units.n)
    assert np.array_equal(w.units.staff, staff)
    layers = w.network.layers
    assert m.ops.influence.adjacency.nnz == (work + layers["residence"] + layers["online"]).nnz
    assert np.all(m.people.out_of_system[moved])


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
    w = m.state
    kind = w.branches.kind
    hb = m.people.home_branch
    members = np.flatnonzero(m.people.member)
    assert np.all(hb[~m.people.member] == -1)
    has = members[hb[members] >= 0]
    k = kind[hb[has]]
    # a member's unit or joint branch is the branch of the unit they work in
    work_b = np.isin(k, (UNIT, JOINT, PLATFORM_BRANCH))
    assert np.all(w.units.branch[w.people.unit[has[work_b]]] <= hb[has[work_b]])
    assert np.all(w.people.unit[has[k == PLATFORM_BRANCH]] >= 0)
    assert np.all(w.people.sector[has[k == PLATFORM_BRANCH]] == PLATFORM)
    # a unit keeps its own branch only with enough full members
    in_unit = m.people.member & (w.people.unit >= 0)
    m_unit = np.bincount(w.people.unit[in_unit], minlength=w.units.n)
    own = np.flatnonzero(w.units.branch >= 0)
    own = own[kind[w.units.branch[own]] == UNIT]
    assert np.all(m_unit[own] >= m.params.branch_min_members)
    assert m.state.tally.dissolved > 0
    # dual registration only beside a workplace or online branch
    dual = np.flatnonzero(m.people.dual_registered)
    assert np.all(hb[dual] >= 0) and not np.any(kind[hb[dual]] == COMMUNITY)
    assert np.all(np.isin(kind, (UNIT, JOINT, PLATFORM_BRANCH, COMMUNITY, ONLINE)))
    assert m.branches.members.sum() == (hb[m.people.member] >= 0).sum()


def test_operators_rebuilt_only_in_batch_weeks():
    m = PartyBuildingModel(
        ModelParams(people=1000, platform_shift=0.2, crisis_start=-1, social_change_every=13),
        PolicyParams(),
        rng=0,
    )
    assert m.params.membership_every == 13  # retirements come in batches too
    calls, version = [], m.network.version
    for _ in range(30):
        m.step()
        if m.ops.network_version != version:  # the operators were rebuilt this week
            calls.append(m.week)
            version = m.ops.network_version
        assert m.ops.network_version == m.network.version
    every = m.params.social_change_every
    assert calls and all(week % every == 0 for week in calls)
    still = PartyBuildingModel(
        ModelParams(people=1000, platform_shift=0.0, crisis_start=-1, **STILL),
        PolicyParams(),
        rng=0,
    )
    layers = dict(still.network.layers)
    still.run_for(30)
    assert all(still.network.layers[k] is layers[k] for k in layers)


def test_coverage_sub_levers():
    """platform_coverage and online_branches take policy.coverage's value when unset."""
    base = PartyBuildingModel(ModelParams(people=3000), PolicyParams(coverage=0.7), rng=2)
    explicit = PartyBuildingModel(
        ModelParams(people=3000),
        PolicyParams(coverage=0.7, platform_coverage=0.7, online_branches=0.7),
        rng=2,
    )
    assert np.array_equal(base.branches.kind, explicit.branches.kind)
    assert np.array_equal(base.people.home_branch, explicit.people.home_branch)
    none = PartyBuildingModel(
        ModelParams(people=3000),
        PolicyParams(coverage=1.0, platform_coverage=0.0, online_branches=0.0),
        rng=2,
    )
    kinds = none.branches.kind
    assert not np.any(kinds == PLATFORM_BRANCH) and not np.any(kinds == ONLINE)
    assert np.any(kinds == JOINT)
    full = PartyBuildingModel(
        ModelParams(people=3000),
        PolicyParams(coverage=0.0, platform_coverage=1.0, online_branches=1.0),
        rng=2,
    )
    w = full.state
    staffed_platforms = (w.units.sector == PLATFORM) & (w.units.staff > 0)
    assert np.all(w.units.branch[staffed_platforms] >= 0)
    assert not np.any(w.branches.kind == JOINT)
    assert np.all(
        full.people.home_branch[full.people.member] >= 0
    )  # everyone unattached went online
    out = full.outcomes()
    assert out["floating_gap"] == pytest.approx(out["formal_coverage"] - out["effective_coverage"])
