"""Membership change (DESIGN §5.9, §7): ageing, deaths with replacement, retirement, lapse;
and the commitment terms that decide who stays (§5.6)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.mechanisms import membership
from sim.mechanisms.commitment import update_commitment
from sim.params import ModelParams, PolicyParams
from sim.state import NONE


def test_gompertz_hazard_by_hand():
    h = membership.yearly_death_hazard(np.array([0, 60, 80]), 3e-5, 0.092)
    np.testing.assert_allclose(h, 3e-5 * np.exp(0.092 * np.array([0, 60, 80])))
    # a constant yearly hazard h gives 1 - exp(-h/52) a week, 1 - exp(-h) over 52 weeks
    w = membership.weekly_chance(np.array([0.05]))
    assert 1 - (1 - w[0]) ** 52 == pytest.approx(1 - np.exp(-0.05), rel=1e-12)


def test_everyone_ages_once_a_year_on_their_birthday():
    m = sim.PartyBuildingModel(ModelParams(people=2000, mortality_base=0.0), PolicyParams(), rng=0)
    age0 = m.people.age.astype(int).copy()
    m.run_for(52)
    assert np.array_equal(m.people.age.astype(int), np.minimum(age0 + 1, membership.MAX_AGE))


def test_deaths_follow_the_hazard_and_newcomers_keep_the_population():
    p = ModelParams(people=20_000, mortality_base=3e-4, crisis_start=-1)  # 10x mortality
    m = sim.PartyBuildingModel(p, PolicyParams(), rng=1)
    expected = membership.weekly_chance(
        membership.yearly_death_hazard(m.people.age, p.mortality_base, p.mortality_slope)
    ).sum()
    members = m.people.member.sum()
    m.step()
    dead = m.events["membership"].detail["dead"]
    assert abs(dead.size - expected) < 4 * np.sqrt(expected)  # Poisson-binomial count
    assert m.people.n == 20_000
    # newcomers: young masses; a member who died left the party
    assert not m.people.member[dead].any()
    assert np.all(m.people.age[dead] <= p.entry_age)
    assert np.all(m.people.commitment[dead] == 0) and not m.people.retired[dead].any()
    died_members = m.state.tally.deaths
    assert m.outcomes()["deaths"] == died_members > 0
    assert m.people.member.sum() == members - m.state.tally.exits + m.outcomes()["recruits"]


def test_retirement_moves_workers_out_and_young_people_into_their_jobs():
    p = ModelParams(people=20_000, mortality_base=0.0, membership_every=4, crisis_start=-1)
    m = sim.PartyBuildingModel(p, PolicyParams(), rng=2)
    staff0 = m.state.units.staff.copy()
    old = np.flatnonzero((m.people.unit >= 0) & (m.people.age >= p.retirement_age - 1))
    m.run_for(52)  # everyone aged 59 at the start has turned 60 and retired by now
    assert np.all(m.people.unit[old] < 0) and np.all(m.people.retired[old])
    assert np.all(m.people.sector[old] == NONE)
    # job succession keeps units staffed (while young people outside work are available)
    assert abs(m.state.units.staff.sum() - staff0.sum()) <= 0.01 * staff0.sum()
    # retired members moved to their community's branch
    member = old[m.people.member[old]]
    assert member.size > 0
    kinds = m.branches.kind[m.people.home_branch[member]]
    assert np.all(kinds == 3)  # COMMUNITY


def test_lapse_needs_six_months_without_life_and_low_commitment():
    # floating members have no organisational life; a lapse rate of 1 shows who may leave
    p = ModelParams(
        people=3000,
        lapse_rate=1.0,
        lapse_weeks=10,
        lapse_commitment=0.3,
        mortality_base=0.0,
        crisis_start=-1,
    )
    m = sim.PartyBuildingModel(p, PolicyParams(coverage=0.0), rng=3)
    m.run_for(9)
    assert m.state.tally.exits == 0  # nobody has been without life long enough yet
    floating = m.people.member & (m.people.home_branch < 0)
    low = floating & (m.people.commitment < 0.3)
    m.step()
    lapsed = m.events["membership"].detail["lapsed"]
    assert lapsed.size > 0
    assert set(lapsed) <= set(np.flatnonzero(low))  # only floating, low-commitment members


def commitment_step(c, **kw):
    p = ModelParams()
    n = np.size(c)
    args = dict(
        disposition=np.full(n, 0.5),
        life=np.zeros(n),
        answered=np.zeros(n, bool),
        waiting=np.zeros(n, bool),
        weight=np.ones(n),
        serves=np.zeros(n, bool),
        overload=np.zeros(n),
        floating=np.zeros(n, bool),
    )
    args.update(kw)
    return update_commitment(np.asarray(c, float), p=p, **args)


def test_commitment_terms_by_hand():
    p = ModelParams()
    c = np.array([0.4])
    # alone, commitment returns toward the disposition
    assert commitment_step(c)[0] == pytest.approx(0.4 + p.commitment_decay * 0.1)
    # full life: + a1 (1 - c)
    assert commitment_step(c, life=np.ones(1))[0] == pytest.approx(
        0.4 + p.life_gain * 0.6 + p.commitment_decay * 0.1
    )
    # a waiting problem costs a3 w c, twice as much for a weight of 2 (out of the system)
    base = commitment_step(c)[0]
    wait1 = base - commitment_step(c, waiting=np.ones(1, bool))[0]
    wait2 = base - commitment_step(c, waiting=np.ones(1, bool), weight=np.full(1, 2.0))[0]
    assert wait1 == pytest.approx(p.wait_loss * 0.4) and wait2 == pytest.approx(2 * wait1)
    # load costs only beyond what a member carries: overload 0 costs nothing
    assert commitment_step(c, overload=np.zeros(1))[0] == base
    assert commitment_step(c, overload=np.ones(1))[0] == pytest.approx(base - p.overload_loss * 0.4)
    # serving neighbours gives meaning
    assert commitment_step(c, serves=np.ones(1, bool))[0] > base
