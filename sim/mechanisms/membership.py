"""Membership change: ageing, retirement, deaths with replacement, and lapse (DESIGN §5.9, §7).

The party's membership changes not only through recruitment (§5.8):

* **Ageing.** Everyone ages a year on their own birthday week (drawn once), so ageing is spread
  over the year.
* **Deaths.** A weekly death hazard by age (Gompertz: a yearly hazard
  ``model.mortality_base * exp(model.mortality_slope * age)``, about 0.75% at 60 and 5% at 80,
  the shape of China's life table). The population is stationary: a young newcomer takes the
  place of each person who dies, with their community and ties (a simplification: the newcomer
  inherits the social position, e.g. the job of a worker who dies, at ``model.entry_age``; in
  place of a retired person, an 18-year-old outside work). A newcomer is a mass with an
  identification drawn as at the start. A member who dies leaves the party.
* **Retirement and job succession.** Workers who have reached ``model.retirement_age`` leave
  their unit (retired, outside work; a member moves to the community branch), and young people
  outside work (aged ``model.entry_age`` or more, not retired) take the jobs they leave, so the
  sectors keep their size. Moves change ties, so they are applied in batches every
  ``model.membership_every`` weeks (the network operators are rebuilt once a batch).
* **Lapse.** A member who has had no organisational life for ``model.lapse_weeks`` weeks (the
  party constitution regards six months without organisational life without good reason as
  leaving) and whose commitment is below ``model.lapse_commitment`` leaves with weekly chance
  ``model.lapse_rate``.

Calibration target (DESIGN §7): net membership growth about 1.1% a year (2023-2024) with about
2.1% a year recruited; ``experiments.calibration`` measures it.

Every part is vectorised; deaths and lapses are drawn by thinning (cost proportional to the
expected number), so a week costs a few passes over the people's ages and the members.
"""

from __future__ import annotations

import numpy as np

from sim.organisation import relocate
from sim.params import ModelParams, PolicyParams
from sim.sampling import bernoulli_thinned_by_group
from sim.state import NEVER, NO_STAGE, NONE, Events, State, true_positions

#: Age of a newcomer who replaces a person outside work.
NEWCOMER_AGE = 18
#: Oldest age (people age no further).
MAX_AGE = 110


def yearly_death_hazard(age: np.ndarray, base: float, slope: float) -> np.ndarray:
    """Gompertz hazard ``a exp(b age)`` per year."""
    return base * np.exp(slope * np.asarray(age, dtype=float))


def weekly_chance(yearly_hazard: np.ndarray) -> np.ndarray:
    """Chance of the event within a week at a constant yearly hazard."""
    return -np.expm1(-np.asarray(yearly_hazard, dtype=float) / 52.0)


def leave_party(state: State, pids: np.ndarray) -> None:
    """Members leave: they become masses without branch, registration, commitment or stage."""
    people = state.people
    people.member[pids] = False
    people.home_branch[pids] = -1
    people.dual_registered[pids] = False
    people.commitment[pids] = 0.0
    people.disposition[pids] = 0.0


def replace(state: State, p: ModelParams, rng: np.random.Generator, dead: np.ndarray) -> None:
    """Newcomers take the places of the dead (see module doc)."""
    people = state.people
    working = people.unit[dead] >= 0
    people.age[dead] = np.where(working, p.entry_age, NEWCOMER_AGE)
    people.retired[dead] = False
    people.new_strata[dead] &= working  # a worker's newcomer takes over the job
    x = rng.beta(
        p.init_identification * p.init_concentration,
        (1 - p.init_identification) * p.init_concentration,
        dead.size,
    ).astype(np.float32)
    people.identification[dead] = x
    people.anchor[dead] = x
    people.need[dead] = False
    people.private_need[dead] = False
    people.stage[dead] = NO_STAGE
    people.active[dead] = False
    people.last_reached[dead] = NEVER
    people.version += 1


def step(
    state: State, p: ModelParams, policy: PolicyParams, rng: np.random.Generator, week: int
) -> Events:
    """One week of ageing, deaths and lapses; a batch of retirements every few weeks."""
    people, tally = state.people, state.tally
    branches_before, ties_before = state.branches.n, state.network.version
    # ageing, on each person's birthday week
    today = true_positions(people.birthday == week % 52)
    if today.size:
        people.age[today] = np.minimum(people.age[today] + 1, MAX_AGE)
        people.version += 1
    # deaths, replaced by newcomers (a table by age: a gather, not an exp, per person)
    by_age = weekly_chance(yearly_death_hazard(np.arange(256), p.mortality_base, p.mortality_slope))
    dead = bernoulli_thinned_by_group(by_age, people.age, rng)
    dead_members = dead[people.member[dead]]
    leave_party(state, dead_members)
    replace(state, p, rng, dead)
    # lapse: six months without organisational life and low commitment
    ids = people.member_ids()
    may_leave = (week - people.life_week[ids] >= p.lapse_weeks) & (
        people.commitment[ids] < p.lapse_commitment
    )
    candidates = ids[may_leave]
    lapsed = candidates[rng.random(candidates.size) < p.lapse_rate]
    leave_party(state, lapsed)
    # retirement and job succession, in batches
    if week % p.membership_every == 0:
        retire(state, p, policy, rng)
    state.branches.recount(people)
    exited = np.concatenate([dead_members, lapsed])
    tally.exits = int(exited.size)
    tally.deaths = int(dead_members.size)
    return Events(
        opened=state.branches.n - branches_before,
        exited=exited,
        ties_changed=state.network.version != ties_before,
        detail={"dead": dead, "lapsed": lapsed},
    )


def retire(state: State, p: ModelParams, policy: PolicyParams, rng: np.random.Generator) -> None:
    """Workers at retirement age retire; young people outside work take their jobs."""
    people = state.people
    retirees = np.flatnonzero((people.unit >= 0) & (people.age >= p.retirement_age))
    if retirees.size == 0:
        return
    pool = np.flatnonzero(
        (people.sector == NONE)
        & ~people.retired
        & (people.age >= p.entry_age)
        & (people.age < p.retirement_age)
    )
    k = min(retirees.size, pool.size)
    entrants = rng.choice(pool, k, replace=False) if k else np.empty(0, np.int64)
    jobs = rng.permutation(retirees)[:k]  # whose jobs the entrants take
    dest = np.concatenate([np.full(retirees.size, -1), people.unit[jobs]])
    sector = np.concatenate([np.full(retirees.size, NONE), people.sector[jobs]]).astype(np.int8)
    new_strata = people.new_strata[jobs]
    people.retired[retirees] = True
    people.new_strata[retirees] = False
    relocate(state, p, policy, rng, np.concatenate([retirees, entrants]), dest, sector)
    people.new_strata[entrants] = new_strata
