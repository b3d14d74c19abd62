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
* **Ties.** A mover loses every work tie and draws ``model.platform_work_degree`` ties to random
  co-workers of its platform organisation (as the world builder gives platform workers); its
  online activity is multiplied by ``model.mover_online_boost`` (an assumption, varied in the
  validation), which brings new weak online ties (:func:`boost_online`).
* **Branches.** The party's rules of :mod:`sim.organisation` (:func:`~sim.organisation.relocate`):
  a member who moves loses a branch tied to the old workplace; the platform organisation's
  branch takes them in if coverage of the new sectors created one; else the community branch if
  they are dual-registered there (paper 2.2: residential ties make up for the weakening of
  work-based branches); else the street's online branch with chance ``policy.online_branches``
  (paper 2.3); otherwise they float. A unit whose full members fall below
  ``model.branch_min_members`` loses its own branch (joint branch if coverage reaches it, else
  its members are rehomed). Full branches split.

All of this is vectorised; the only loop runs over the three layers.
"""

from __future__ import annotations

import numpy as np

from sim.network import add_ties
from sim.organisation import relocate
from sim.params import ModelParams, PolicyParams
from sim.state import ENTERPRISE, PLATFORM, STATE, Events, State


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
    people = state.people
    opened_before = state.branches.n
    movers = np.asarray(movers, np.int64)
    platform_workers = np.flatnonzero(people.sector == PLATFORM)
    dest = people.unit[platform_workers[rng.integers(0, platform_workers.size, movers.size)]]
    relocate(state, p, policy, rng, movers, dest, np.full(movers.size, PLATFORM, np.int8))
    boost_online(state, p, rng, movers)
    people.moved += movers.size
    return Events(
        opened=state.branches.n - opened_before,
        ties_changed=True,
        detail={"movers": movers},
    )


def boost_online(
    state: State, p: ModelParams, rng: np.random.Generator, movers: np.ndarray
) -> None:
    """Movers' online activity grows by ``model.mover_online_boost``; the extra expected degree
    ``online_degree * (a_new - a_old) / mean(a)`` comes as Poisson new ties to partners drawn
    in proportion to online activity (the Chung and Lu 2002 rule the builder uses).

    The size of the boost is an assumption (varied in the validation): the new weak ties keep
    movers reachable online, where platform and online branches work.
    """
    net, n = state.network, state.people.n
    act = net.online_activity
    mean_before = act.mean()
    extra = act[movers] * (p.mover_online_boost - 1.0)
    act[movers] += np.maximum(extra, -act[movers])
    k = rng.poisson(np.maximum(p.online_degree * extra / mean_before, 0.0))
    if k.sum() > 0:
        cdf = np.cumsum(act)
        cdf /= cdf[-1]
        src = np.repeat(movers, k)
        dst = np.minimum(np.searchsorted(cdf, rng.random(src.size), side="right"), n - 1)
        net.set_layer("online", add_ties(net.layers["online"], src, dst), np.r_[src, dst])
