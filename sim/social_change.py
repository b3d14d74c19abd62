"""Social change: stable units dissolve into the platform economy (DESIGN §5.1, paper 2.3).

Paper 2.3 ("有机性融入") observes that units with fixed staff and a stable hierarchy keep
shrinking while platform work (delivery, ride-hailing, live-streaming, e-commerce) links people
broadly but weakly; the branches built on stable units shrink with them, and members of the new
forms of work are left without organisational life unless new-sector or online branches reach
them. The mechanism formalises this as a trend:

* **Moves.** Each year a share ``model.platform_shift`` of the people who work in a stable unit
  (state organs and public institutions, enterprises) moves to the platform sector. The moves
  are applied in batches every ``model.social_change_every`` weeks (default 52: the year's
  movers move together): a batch moves each stable worker with probability
  ``1 - (1 - platform_shift)^(every/52)``, so the yearly rate is exact. Batching keeps the
  cost down: after a batch the network operators are rebuilt once (``model._build_operators``,
  about 25 ms at 100,000 people, most of it the weighted sum of the three layers) plus about
  15 ms of rewiring; spread over a year this adds under 1 ms to the average week at 100,000
  people, and weeks without a batch cost nothing. Use a shorter interval (e.g. 4 or 13) for
  smoother time series at a higher cost (the experiments on social change do). A mover joins
  an existing platform organisation chosen in proportion to its size (a random platform
  worker's organisation).
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

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from sim.network import group_layout, symmetric_adjacency
from sim.world import COMMUNITY, ENTERPRISE, JOINT, ONLINE, PLATFORM, STATE, UNIT, at_branch

if TYPE_CHECKING:
    from sim.model import PartyBuildingModel


def batch_hazard(yearly: float, weeks: int) -> float:
    """Chance to move within ``weeks`` weeks when the yearly share is ``yearly``."""
    return float(-np.expm1(weeks / 52.0 * np.log1p(-yearly))) if yearly < 1 else 1.0


def open_branches(
    model: PartyBuildingModel,
    kind: int | np.ndarray,
    communities: np.ndarray,
    units: np.ndarray | None = None,
) -> np.ndarray:
    """Open new, empty branches of the given kinds in the given communities; return their ids.

    The world's branch arrays and the Mesa ``Branch`` agents grow; the model's per-branch
    arrays are padded (with zeros; the fusion state through ``model._fit_branch_state``) and
    recomputed by the mechanisms that own them at their next run.
    """
    from sim.agents import Branch

    w = model.world
    communities = np.asarray(communities, np.int32)
    old, k = w.branches, communities.size
    if k == 0:
        return np.empty(0, np.int64)
    w.branch_kind = np.concatenate(
        [w.branch_kind, np.broadcast_to(np.asarray(kind, np.int8), (k,))]
    )
    w.branch_unit = np.concatenate(
        [w.branch_unit, np.full(k, -1, np.int32) if units is None else np.asarray(units, np.int32)]
    )
    w.branch_community = np.concatenate([w.branch_community, communities])
    w.branch_committee = np.concatenate([w.branch_committee, w.street_of_community[communities]])
    model.branch_agents.extend(Branch(model, i) for i in range(old, old + k))
    if hasattr(model, "_fit_branch_state"):
        model._fit_branch_state()
    for name, value in list(vars(model).items()):
        if (
            name.startswith("branch_")
            and isinstance(value, np.ndarray)
            and value.ndim == 1
            and value.size == old
        ):
            pad = np.zeros(k, value.dtype) if value.dtype != bool else np.zeros(k, bool)
            setattr(model, name, np.concatenate([value, pad]))
    return np.arange(old, old + k, dtype=np.int64)


def place_in_streets(
    model: PartyBuildingModel,
    kind: int,
    streets: np.ndarray,
    room: np.ndarray,
    per_new: int,
    new_community: np.ndarray,
) -> np.ndarray:
    """Place items (people or units) into branches of ``kind`` in their street, opening more.

    Items fill the room left in the street's existing branches of the kind (fewest-filled
    first), then new branches of ``per_new`` places each. The loop runs over streets, not
    items.

    Args:
        model: the model.
        kind: ONLINE or JOINT.
        streets: street (lowest committee) of each item.
        room: places left in every branch (ignored for other kinds).
        per_new: places in a new branch.
        new_community: for each item, the community a branch opened for it would sit in.

    Returns:
        The branch of each item.
    """
    w = model.world
    out = np.full(streets.size, -1, np.int64)
    for street in np.unique(streets):
        items = np.flatnonzero(streets == street)
        ids = np.flatnonzero((w.branch_kind == kind) & (w.branch_committee == street))
        ids = ids[room[ids] > 0]
        ids = ids[np.argsort(-room[ids], kind="stable")]
        cum = np.cumsum(room[ids])
        fits = np.arange(items.size) < (cum[-1] if cum.size else 0)
        out[items[fits]] = ids[np.searchsorted(cum, np.arange(fits.sum()), side="right")]
        rest = items[~fits]
        if rest.size:
            n_new = -(-rest.size // per_new)
            new = open_branches(model, kind, new_community[rest[::per_new]][:n_new])
            out[rest] = new[np.arange(rest.size) // per_new]
            room = np.concatenate([room, np.zeros(n_new, room.dtype)])
    return out


def join(model: PartyBuildingModel, pids: np.ndarray, branches: np.ndarray) -> np.ndarray:
    """Where people who join the given branches end up, splitting full branches (party rules).

    A branch holds at most ``model.branch_max_members`` members; people beyond its room go to
    new branches of the same kind, community and unit (a split), ``branch_max_members`` each.
    A target of -1 stays -1 (floating).
    """
    w, cap = model.world, model.params.branch_max_members
    out = np.asarray(branches, np.int64).copy()
    has = np.flatnonzero(out >= 0)
    if has.size == 0:
        return out
    joining = np.zeros(w.people, bool)
    joining[pids] = True
    hb = model.home_branch
    stay = model.member & (hb >= 0) & ~joining
    room = cap - np.bincount(hb[stay], minlength=w.branches)
    order = has[np.argsort(out[has], kind="stable")]
    t = out[order]
    start = np.maximum.accumulate(np.where(np.r_[True, t[1:] != t[:-1]], np.arange(t.size), 0))
    extra = np.arange(t.size) - start - np.maximum(room[t], 0)  # >= 0: beyond the room
    over = extra >= 0
    if not over.any():
        return out
    # new branches per overflowing target, numbered in target order
    targets, first_over = np.unique(t[over], return_index=True)
    need = -(-np.bincount(t[over], minlength=w.branches)[targets] // cap)
    new = open_branches(
        model,
        w.branch_kind[targets].repeat(need),
        w.branch_community[targets].repeat(need),
        w.branch_unit[targets].repeat(need),
    )
    base = np.cumsum(need) - need  # index of each target's first new branch in ``new``
    which = np.searchsorted(targets, t[over])
    out[order[over]] = new[base[which] + extra[over] // cap]
    return out


def street_of(model: PartyBuildingModel, pids: np.ndarray) -> np.ndarray:
    """Street (lowest committee) of each person's residential community."""
    w = model.world
    return w.street_of_community[w.community[pids]]


def online_pickup(model: PartyBuildingModel, pids: np.ndarray) -> np.ndarray:
    """Online branches of the people's streets take them in (opening branches when full)."""
    from sim.world import street_first_community

    if pids.size == 0:
        return np.empty(0, np.int64)
    room = model.params.branch_max_members - model.branch_members
    streets = street_of(model, pids)
    return place_in_streets(
        model,
        ONLINE,
        streets,
        room,
        model.params.branch_max_members,
        street_first_community(model.world)[streets],
    )


def rehome(model: PartyBuildingModel, pids: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """New home branch of members who lost theirs: community if dual-registered, else online.

    Args:
        model: the model.
        pids: members who lost their branch (their platform branch, if any, already applied).
        draw: one uniform per person, compared with ``policy.online_branches``.

    Returns:
        The branch each person joins, or -1 (floating).
    """
    w = model.world
    home = np.full(pids.size, -1, np.int64)
    if pids.size == 0:
        return home
    comm_b = w.community_branch[w.community[pids]]
    dual = model.dual_registered[pids] & (comm_b >= 0)
    home[dual] = comm_b[dual]
    home = join(model, pids, home)
    online = ~dual & (draw < model.policy.lever("online_branches"))
    home[online] = online_pickup(model, pids[online])
    return home


def recount_branches(model: PartyBuildingModel) -> None:
    """Members and capacity of every branch after membership changed."""
    from sim.assessment import branch_capacity

    hb = model.home_branch[model.member]
    model.branch_members = np.bincount(hb[hb >= 0], minlength=model.world.branches).astype(float)
    model.branch_capacity = branch_capacity(
        model.branch_members, model.params.hours_base, model.params.hours_per_member
    )


def drop_people(a: sp.csr_array, gone: np.ndarray) -> sp.csr_array:
    """The adjacency without any tie of the people flagged in ``gone`` (rows and columns)."""
    keep = ~gone[a.indices]
    keep &= np.repeat(~gone, np.diff(a.indptr))
    kept = np.r_[0, np.cumsum(keep)]
    return sp.csr_array((a.data[keep], a.indices[keep], kept[a.indptr]), shape=a.shape)


def add_ties(a: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> sp.csr_array:
    """A binary symmetric adjacency with the ties (rows, cols) added (self-ties ignored)."""
    out = sp.csr_array(a + symmetric_adjacency(rows, cols, a.shape[0]))
    out.data[:] = 1.0
    return out


class SocialChange:
    """Moves people from stable units to platforms in batches and re-lays their branches.

    Args:
        model: the model whose world and arrays the mechanism updates.
    """

    def __init__(self, model: PartyBuildingModel):
        self.moved = 0  # people moved so far
        self.dissolved = 0  # unit branches dissolved so far
        self.last_movers = np.empty(0, np.int64)

    def step(self, model: PartyBuildingModel) -> bool:
        """Apply this week's batch, if one falls due. Returns whether anything changed."""
        p = model.params
        if p.platform_shift <= 0 or model.week % p.social_change_every != 0:
            return False
        w = model.world
        stable = (w.sector == STATE) | (w.sector == ENTERPRISE)
        draw = model.rng.random(w.people)
        movers = np.flatnonzero(
            stable & (draw < batch_hazard(p.platform_shift, p.social_change_every))
        )
        if movers.size == 0 or not np.any(w.sector == PLATFORM):
            return False  # nobody moves, or there is no platform organisation to move to
        self.move(model, movers)
        return True

    # ------------------------------------------------------------------ the move
    def move(self, model: PartyBuildingModel, movers: np.ndarray) -> None:
        """Move the given stable-unit workers to platform organisations (see module doc)."""
        w, rng = model.world, model.rng
        movers = np.asarray(movers, np.int64)
        old_unit = w.unit[movers].copy()
        platform_workers = np.flatnonzero(w.sector == PLATFORM)
        dest = w.unit[platform_workers[rng.integers(0, platform_workers.size, movers.size)]]
        self._rewire(model, movers, dest, platform_workers)
        np.subtract.at(w.unit_staff, old_unit, 1)
        np.add.at(w.unit_staff, dest, 1)
        w.sector[movers] = PLATFORM
        w.unit[movers] = dest
        model.out_of_system[movers] = True
        self._rebranch(model, movers, dest, old_unit)
        recount_branches(model)
        model._build_operators()
        self.moved += movers.size
        self.last_movers = movers

    def _rewire(
        self,
        model: PartyBuildingModel,
        movers: np.ndarray,
        dest: np.ndarray,
        platform_workers: np.ndarray,
    ) -> None:
        """Movers lose work ties, gain platform co-workers and online ties.

        Cost: one pass over the work layer's entries to drop the movers' ties, and one sparse
        addition per layer for the few new ties (about 10 ms a batch at 100,000 people).
        """
        p, w, rng = model.params, model.world, model.rng
        n = w.people
        moving = np.zeros(n, bool)
        moving[movers] = True
        # work: drop every tie of a mover, then tie it to co-workers of its platform
        work = drop_people(w.layers["work"], moving)
        if p.platform_work_degree > 0:
            order, start, size, _ = group_layout(w.unit[platform_workers], rng)
            units = w.unit[platform_workers][order]
            src = np.repeat(movers, p.platform_work_degree)
            u = np.repeat(dest, p.platform_work_degree)
            pos = np.searchsorted(units, u)  # the destination's block in the sorted workers
            pick = pos + np.floor(rng.random(src.size) * size[pos]).astype(np.int64)
            work = add_ties(work, src, platform_workers[order][pick])
        w.layers["work"] = work
        # online: more activity, more weak ties to partners drawn by activity (Chung-Lu)
        act = w.online_activity
        mean_before = act.mean()
        extra = act[movers] * (p.online_platform_boost - 1.0)
        act[movers] += extra
        k = rng.poisson(np.maximum(p.online_degree * extra / mean_before, 0.0))
        if k.sum() > 0:
            cdf = np.cumsum(act)
            cdf /= cdf[-1]
            src = np.repeat(movers, k)
            dst = np.minimum(np.searchsorted(cdf, rng.random(src.size), side="right"), n - 1)
            w.layers["online"] = add_ties(w.layers["online"], src, dst)

    def _rebranch(
        self, model: PartyBuildingModel, movers: np.ndarray, dest: np.ndarray, old_unit: np.ndarray
    ) -> None:
        """New homes for members who moved, and dissolution of units left too small."""
        p, w = model.params, model.world
        rng = model.rng
        is_member = model.member[movers]
        draws = rng.random(movers.size)  # online pickup draws, one per mover (paired runs)
        mm, mdest, mdraw = movers[is_member], dest[is_member], draws[is_member]
        hb = model.home_branch[mm]
        kind = at_branch(w.branch_kind, hb, -1)
        # a branch tied to the old workplace is lost; online branches stay; floating may be found
        lost = (kind == UNIT) | (kind == JOINT) | (kind == -1)
        plat_b = w.unit_branch[mdest]
        to_plat = lost & (plat_b >= 0)
        model.home_branch[mm[to_plat]] = join(model, mm[to_plat], plat_b[to_plat])
        rest = lost & ~to_plat
        model.home_branch[mm[rest]] = rehome(model, mm[rest], mdraw[rest])
        self._fix_dual(model, mm)
        # units that lost members: below the minimum, the unit's own branch dissolves
        touched = np.unique(old_unit)
        touched = touched[w.unit_branch[touched] >= 0]
        own = touched[w.branch_kind[w.unit_branch[touched]] == UNIT]
        if own.size == 0:
            return
        in_unit = model.member & (w.unit >= 0)
        m_unit = np.bincount(w.unit[in_unit], minlength=w.units)
        weak = own[m_unit[own] < p.branch_min_members]
        if weak.size:
            self.dissolve(model, weak)

    def dissolve(self, model: PartyBuildingModel, units: np.ndarray) -> None:
        """Units lose their own branches; members go to a joint branch, or are re-homed."""
        w, rng = model.world, model.rng
        units = np.asarray(units, np.int64)
        first = w.unit_branch[units].astype(np.int64)
        own_b = np.flatnonzero(np.isin(w.branch_unit, units))  # the units' own branches
        covered = w.unit_cover_draw[units] < model.policy.coverage
        target = np.full(units.size, -1, np.int64)
        if covered.any():
            ub = w.unit_branch[w.unit_branch >= 0]
            units_in = np.bincount(ub, minlength=w.branches)
            room = np.where(w.branch_kind == JOINT, model.params.joint_branch_units - units_in, 0)
            target[covered] = place_in_streets(
                model,
                JOINT,
                w.branch_committee[first[covered]],
                room,
                model.params.joint_branch_units,
                w.unit_community[units[covered]],
            )
        w.unit_branch[units] = target
        w.branch_unit[own_b] = -1  # dissolved: the row stays, empty, tied to no unit
        own_mask = np.zeros(w.branches, bool)
        own_mask[own_b] = True
        hb = model.home_branch
        affected = np.flatnonzero(model.member & at_branch(own_mask, hb, False))
        draws = rng.random(affected.size)
        unit_of = np.searchsorted(units, w.unit[affected])  # units is sorted (np.unique)
        joint_of = target[np.minimum(unit_of, units.size - 1)]
        in_joint = (w.unit[affected] >= 0) & (joint_of >= 0)
        hb[affected[in_joint]] = join(model, affected[in_joint], joint_of[in_joint])
        rest = affected[~in_joint]
        hb[rest] = rehome(model, rest, draws[~in_joint])
        self._fix_dual(model, affected)
        self.dissolved += units.size

    @staticmethod
    def _fix_dual(model: PartyBuildingModel, pids: np.ndarray) -> None:
        """Dual registration exists only beside a workplace or online branch."""
        w = model.world
        hb = model.home_branch[pids]
        kind = at_branch(w.branch_kind, hb, COMMUNITY)
        model.dual_registered[pids] &= kind != COMMUNITY
