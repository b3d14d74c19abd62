"""Social change: stable units dissolve into the platform economy (DESIGN §5.1, paper 2.3).

Paper 2.3 ("有机性融入") observes that units with fixed staff and a stable hierarchy keep
shrinking while platform work (delivery, ride-hailing, live-streaming, e-commerce) links people
broadly but weakly; the branches built on stable units shrink with them, and members of the new
forms of work are left without organisational life unless new-sector or online branches reach
them. The mechanism formalises this as a trend:

* **Moves.** Each year a share ``model.platform_shift`` of the people who work in a stable unit
  (state organs and public institutions, enterprises) moves to the platform sector. The moves
  are applied in batches every ``model.social_change_every`` weeks (default 52: the year's
  movers move together): a batch moves each stable worker with probability ``1 - (1 -
  platform_shift)^(every/52)``, so the yearly rate is exact. Batching keeps the cost down: after
  a batch the model rebuilds its network operators once (the network's version changes; about 25
  ms at 100,000 people, most of it the weighted sum of the three layers) plus about 15 ms of
  rewiring; spread over a year this adds under 1 ms to the average week at 100,000 people, and
  weeks without a batch cost nothing. Use a shorter interval (e.g. 4 or 13) for smoother time
  series at a higher cost (the experiments on social change do). A mover joins an existing
  platform organisation chosen in proportion to its size (a random platform worker's
  organisation).
* **Ties.** A mover loses every work tie (its row and column of the ``work`` layer), draws
  ``model.platform_work_degree`` ties to random co-workers of its platform organisation (as the
  world builder gives platform workers), and its online activity is multiplied by
  ``model.online_platform_boost``; the extra expected online degree
  ``online_degree * (a_new - a_old) / mean(a)`` is drawn as Poisson new ties whose partners are
  chosen in proportion to online activity (the Chung and Lu 2002 rule the builder uses).
* **Branches.** A member who moves loses a branch tied to the old workplace (unit or joint
  branch); a floating mover may be found. The first rule that applies gives the new
  organisational home: the platform organisation's branch, if coverage of the new sectors
  created one; the residential community's branch, if the member is dual-registered there
  (paper 2.2: residential ties make up for the weakening of work-based branches); the street's
  online branch, with chance ``policy.online_branches`` (paper 2.3, "On line" branches);
  otherwise the member floats. A unit whose full members fall below ``model.branch_min_members``
  loses its own branch: if coverage work reaches it (the unit's stored coverage draw against
  ``policy.coverage``) it joins a joint branch of its street with room for another unit (up to
  ``model.joint_branch_units``; else a new joint branch), otherwise its members go through the
  same rules. A branch never holds more than ``model.branch_max_members``: people beyond its
  room go to a new branch of the same kind, unit and community (a split). A dissolved branch
  keeps its row, empty; new branches append rows (``open_branches``: world arrays, Mesa
  ``Branch`` agents, and the model's per-branch arrays padded until their mechanisms
  recompute them).

All of this is vectorised; the only loop runs over the three layers.
"""

from __future__ import annotations

import numpy as np

from sim.network import add_ties, drop_people, group_layout
from sim.organisation import dissolve, fix_dual, join, rehome, weak_own_branches
from sim.params import ModelParams, PolicyParams
from sim.state import ENTERPRISE, JOINT, PLATFORM, STATE, UNIT, Events, State, at_branch


def batch_hazard(yearly: float, weeks: int) -> float:
    """Chance to move within ``weeks`` weeks when the yearly share is ``yearly``."""
    return float(-np.expm1(weeks / 52.0 * np.log1p(-yearly))) if yearly < 1 else 1.0


def step(
    state: State, p: ModelParams, policy: PolicyParams, rng: np.random.Generator, week: int
) -> Events:
    """Apply this week's batch of moves, if one falls due."""
    if p.platform_shift <= 0 or week % p.social_change_every != 0:
        return Events()
    people = state.people
    stable = (people.sector == STATE) | (people.sector == ENTERPRISE)
    draw = rng.random(people.n)
    movers = np.flatnonzero(stable & (draw < batch_hazard(p.platform_shift, p.social_change_every)))
    if movers.size == 0 or not np.any(people.sector == PLATFORM):
        return Events()  # nobody moves, or there is no platform organisation to move to
    return move(state, p, policy, rng, movers)


def move(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    movers: np.ndarray,
) -> Events:
    """Move the given stable-unit workers to platform organisations (see module doc)."""
    people, units = state.people, state.units
    opened_before = state.branches.n
    movers = np.asarray(movers, np.int64)
    old_unit = people.unit[movers].copy()
    platform_workers = np.flatnonzero(people.sector == PLATFORM)
    dest = people.unit[platform_workers[rng.integers(0, platform_workers.size, movers.size)]]
    _rewire(state, p, rng, movers, dest, platform_workers)
    np.subtract.at(units.staff, old_unit, 1)
    np.add.at(units.staff, dest, 1)
    people.sector[movers] = PLATFORM
    people.unit[movers] = dest
    people.out_of_system[movers] = True
    people.moved += movers.size
    _rebranch(state, p, policy, rng, movers, dest, old_unit)
    state.branches.recount(people, p.hours_base, p.hours_per_member)
    return Events(
        opened=state.branches.n - opened_before,
        ties_changed=True,
        detail={"movers": movers},
    )


def _rewire(
    state: State,
    p: ModelParams,
    rng: np.random.Generator,
    movers: np.ndarray,
    dest: np.ndarray,
    platform_workers: np.ndarray,
) -> None:
    """Movers lose work ties, gain platform co-workers and online ties.

    Cost: one pass over the work layer's entries to drop the movers' ties, and one sparse
    addition per layer for the few new ties (about 10 ms a batch at 100,000 people).
    """
    people, net = state.people, state.network
    n = people.n
    moving = np.zeros(n, bool)
    moving[movers] = True
    # work: drop every tie of a mover, then tie it to co-workers of its platform
    work = drop_people(net.layers["work"], moving)
    if p.platform_work_degree > 0:
        order, start, size, _ = group_layout(people.unit[platform_workers], rng)
        units = people.unit[platform_workers][order]
        src = np.repeat(movers, p.platform_work_degree)
        u = np.repeat(dest, p.platform_work_degree)
        pos = np.searchsorted(units, u)  # the destination's block in the sorted workers
        pick = pos + np.floor(rng.random(src.size) * size[pos]).astype(np.int64)
        work = add_ties(work, src, platform_workers[order][pick])
    net.set_layer("work", work)
    # online: more activity, more weak ties to partners drawn by activity (Chung-Lu)
    act = net.online_activity
    mean_before = act.mean()
    extra = act[movers] * (p.online_platform_boost - 1.0)
    act[movers] += extra
    k = rng.poisson(np.maximum(p.online_degree * extra / mean_before, 0.0))
    if k.sum() > 0:
        cdf = np.cumsum(act)
        cdf /= cdf[-1]
        src = np.repeat(movers, k)
        dst = np.minimum(np.searchsorted(cdf, rng.random(src.size), side="right"), n - 1)
        net.set_layer("online", add_ties(net.layers["online"], src, dst))


def _rebranch(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    movers: np.ndarray,
    dest: np.ndarray,
    old_unit: np.ndarray,
) -> None:
    """New homes for members who moved, and dissolution of units left too small."""
    people, units, b = state.people, state.units, state.branches
    is_member = people.member[movers]
    draws = rng.random(movers.size)  # online pickup draws, one per mover (paired runs)
    mm, mdest, mdraw = movers[is_member], dest[is_member], draws[is_member]
    hb = people.home_branch[mm]
    kind = at_branch(b.kind, hb, -1)
    # a branch tied to the old workplace is lost; online branches stay; floating may be found
    lost = (kind == UNIT) | (kind == JOINT) | (kind == -1)
    plat_b = units.branch[mdest]
    to_plat = lost & (plat_b >= 0)
    people.home_branch[mm[to_plat]] = join(state, p, mm[to_plat], plat_b[to_plat])
    rest = lost & ~to_plat
    people.home_branch[mm[rest]] = rehome(state, p, policy, mm[rest], mdraw[rest])
    fix_dual(state, mm)
    # units that lost members: below the minimum, the unit's own branch dissolves
    weak = weak_own_branches(state, p, old_unit)
    if weak.size:
        dissolve(state, p, policy, weak, rng)
