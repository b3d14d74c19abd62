"""Recruitment (DESIGN §5.8, Appendix A; paper 4.1): stages, durations, capacity, calibration."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_mean_sign

from sim import Member, ModelParams, PartyBuildingModel, PolicyParams
from sim.mechanisms.recruitment import (
    TARGET_ACTIVISTS,
    TARGET_APPLICANTS,
    TARGET_NEW_MEMBERS,
    development_branch,
    development_hours,
    select_within_capacity,
    summary,
)
from sim.sampling import bernoulli_thinned
from sim.state import ACTIVIST, APPLICANT, NO_STAGE, PROBATIONARY


def model(seed: int = 0, **kw) -> PartyBuildingModel:
    policy = kw.pop("policy", {})
    params = ModelParams(**{"people": 5000, "crisis_start": -1, **kw})
    return PartyBuildingModel(params, PolicyParams(**policy), rng=seed)


def test_stage_durations_are_exact_and_capacity_is_never_exceeded():
    m = model(1, people=8000, platform_shift=0.2)
    r, p, b = m.people, m.params, m.branches
    admitted = developed = activated = 0
    spent_dev = np.zeros(m.branches.n)
    for _ in range(120):
        stage, since = r.stage.copy(), r.since.copy()
        members_before = m.people.member.copy()
        m.step()
        week, last = m.week, m.events["recruitment"].detail
        # probationary members become full members after exactly probation_weeks
        a = last["admitted"]
        assert np.all(stage[a] == PROBATIONARY)
        assert np.all(week - since[a] == p.probation_weeks)
        assert np.all(m.people.member[a]) and not np.any(members_before[a])
        assert all(isinstance(m.person_agents[i], Member) for i in a)
        # nobody stays on probation longer
        on_probation = r.stage == PROBATIONARY
        assert np.all(week - r.since[on_probation] < p.probation_weeks)
        # activists are developed after at least activist_weeks, within the branch's slots
        d = last["developed"]
        assert np.all(stage[d] == ACTIVIST)
        assert np.all(week - since[d] >= p.activist_weeks)
        slots = last["develop_slots"]
        per_branch = np.bincount(last["developed_branch"], minlength=slots.size)
        assert per_branch.size == slots.size and np.all(per_branch <= slots)
        if spent_dev.size < per_branch.size:  # branches opened (online pickups, joint units)
            spent_dev = np.r_[spent_dev, np.zeros(per_branch.size - spent_dev.size)]
        spent_dev[: per_branch.size] += per_branch
        # applicants taken on as activists within the branch's slots
        k = last["activated"]
        assert np.all(stage[k] == APPLICANT)
        slots = last["activist_slots"]
        per_branch = np.bincount(last["activated_branch"], minlength=slots.size)
        assert per_branch.size == slots.size and np.all(per_branch <= slots)
        assert np.all(b.credit_develop >= 0) and np.all(b.credit_activist >= 0)
        # new applicants come from masses in no stage
        assert np.all(stage[last["applied"]] == NO_STAGE)
        assert not np.any(m.people.member[r.stage > 0])
        admitted, developed, activated = (admitted + a.size, developed + d.size, activated + k.size)
    assert admitted > 0 and developed > 0 and activated > 0
    # over the run, developments never exceed the capacity earned (plus one banked person)
    free_max = m.params.hours_base + m.params.hours_per_member * m.branches.members.max()
    assert spent_dev.max() <= 1 + 120 * m.params.develop_rate * free_max / 52


def test_recruits_join_the_branch_that_developed_them():
    m = model(2, people=8000)
    for _ in range(60):
        due = np.flatnonzero(
            (m.people.stage == PROBATIONARY)
            & (m.week + 1 - m.people.since >= m.params.probation_weeks)
        )
        expected = development_branch(m.state, due)
        m.step()
        got = m.people.home_branch[due]
        ok = expected >= 0
        # the developing branch, or (when it was full) a split of it: same kind, unit, place
        w = m.state
        same = got[ok] == expected[ok]
        split = (
            (got[ok] >= 0)
            & (w.branches.kind[got[ok]] == w.branches.kind[expected[ok]])
            & (w.branches.community[got[ok]] == w.branches.community[expected[ok]])
        )
        assert np.all(same | split)


def test_capacity_follows_the_hours_of_organisational_life():
    """Development happens in organisational life: a branch without it develops nobody, and
    its capacity is its quality-weighted life hours."""
    m = model(3)
    b = m.branches
    np.testing.assert_allclose(
        development_hours(m.state, m.params, m.policy), b.life + m.params.ritual_quality * b.joint
    )
    b.life[:] = 0.0  # as if paperwork had taken every hour
    b.joint[:] = 0.0
    assert np.all(development_hours(m.state, m.params, m.policy) == 0)


def test_select_within_capacity_respects_slots_and_weights():
    rng = np.random.default_rng(0)
    cand = np.arange(1000)
    branch = np.repeat(np.arange(10), 100)
    slots = np.array([0, 1, 2, 3, 4, 5, 100, 200, 7, 8])
    weight = np.where(cand % 2 == 0, 10.0, 1.0)
    chosen, rank = select_within_capacity(cand, branch, weight, slots, rng)
    counts = np.bincount(branch[chosen], minlength=10)
    assert np.array_equal(counts, np.minimum(slots, 100))
    assert len(set(chosen.tolist())) == chosen.size
    # weight 10 candidates are chosen far more often when places are scarce
    hits = np.zeros(1000)
    for _ in range(300):
        c, _ = select_within_capacity(cand, branch, weight, np.full(10, 5), rng)
        hits[c] += 1
    assert hits[cand % 2 == 0].mean() > 4 * hits[cand % 2 == 1].mean()


def test_bernoulli_thinning_is_exact_in_expectation():
    rng = np.random.default_rng(1)
    chance = np.linspace(0, 0.02, 2000)
    hits = np.zeros(chance.size)
    for _ in range(4000):
        hits[bernoulli_thinned(chance, rng)] += 1
    freq = hits / 4000
    se = np.sqrt(chance * (1 - chance) / 4000)
    assert np.abs(freq - chance).sum() < 4 * np.sqrt((se**2).sum()) * np.sqrt(chance.size)
    assert abs(freq.sum() - chance.sum()) < 4 * np.sqrt((chance * (1 - chance)).sum() / 4000)


@pytest.mark.parametrize("table_kind", ["rising", "bumpy", "rising-with-gaps"])
def test_thinning_by_group_equals_thinning_the_gathered_chances(table_kind):
    """Deaths by age: the same draws and the same indices as thinning everyone's chance."""
    from sim.sampling import bernoulli_thinned_by_group

    rng = np.random.default_rng(3)
    table = np.linspace(0.0001, 0.03, 256)
    if table_kind == "bumpy":  # the top is not at the oldest age present
        table[[40, 77]] = 0.2
    group = rng.integers(20, 90, 50_000).astype(np.uint8)
    if table_kind == "rising-with-gaps":  # ages missing in between: the top is still the max
        group = np.where(group % 3 == 0, 20, group).astype(np.uint8)
    for seed in range(5):
        a = bernoulli_thinned(table[group], np.random.default_rng(seed))
        b = bernoulli_thinned_by_group(table, group, np.random.default_rng(seed))
        assert a.size > 0
        np.testing.assert_array_equal(a, b)


def test_pipeline_starts_at_the_calibrated_ratios():
    m = model(4, people=30_000)
    stage = m.people.stage
    members = m.people.member.sum()
    assert (stage == APPLICANT).sum() / members == pytest.approx(TARGET_APPLICANTS, abs=0.01)
    assert (stage == ACTIVIST).sum() / members == pytest.approx(TARGET_ACTIVISTS, abs=0.01)
    assert (stage == PROBATIONARY).sum() / members == pytest.approx(TARGET_NEW_MEMBERS, abs=0.003)
    # probationary tenures spread over the year: admissions flow from the first week
    assert m.people.since[stage == PROBATIONARY].min() > -m.params.probation_weeks


@pytest.mark.slow
def test_baseline_reproduces_the_recruitment_ratios():
    """Calibration pattern (DESIGN §7): means over weeks 53-260 of the baseline."""
    frames = []
    for seed in range(2):
        m = PartyBuildingModel(ModelParams(people=20_000), PolicyParams(), rng=seed)
        m.run_for(260)
        frames.append(m.results().iloc[52:])
    r = np.mean(
        [
            [
                f["applicants"].mean(),
                f["activists"].mean(),
                52 * (f["recruits"] / f["members"]).mean(),
            ]
            for f in frames
        ],
        axis=0,
    )
    assert r[0] == pytest.approx(TARGET_APPLICANTS, abs=0.02)
    assert r[1] == pytest.approx(TARGET_ACTIVISTS, abs=0.01)
    assert r[2] == pytest.approx(TARGET_NEW_MEMBERS, abs=0.003)


@pytest.mark.slow
def test_outreach_raises_the_new_strata_share_among_recruits():
    # a fast pipeline (short stages, ample capacity) gives many recruits in a small population
    fast = {
        "people": 6000,
        "outreach_base": 0.1,
        "develop_rate": 0.4,
        "activist_rate": 0.8,
        "apply_rate": 0.0012,
        "probation_weeks": 8,
        "activist_weeks": 8,
    }
    diffs = []
    for seed in range(10):
        share = []
        for outreach in (0.0, 1.0):
            m = model(seed, **fast, policy={"new_strata_outreach": outreach})
            m.run_for(52)
            share.append(summary(m.state)["new_strata_share_total"])
        diffs.append(share[1] - share[0])
    assert_mean_sign(diffs, +1, "new strata share")


def test_most_recruits_are_young():
    """Pattern (2024 communique): 83.7% of new members are 35 or younger."""
    m = model(5, people=30_000)
    m.run_for(52)
    assert 0.7 < summary(m.state)["young_share_total"] < 0.95
