"""The party's rules for branches: form, join, split, joint branches, online pickup, rehome,
dissolve (DESIGN §4; paper 2.1-2.3).

One module holds every rule of branch formation; the world builder (:func:`form_branches`) and
the mechanisms that move people during a run (social change, recruitment) use it. The rules:

* **Own branches.** A traditional unit (state organ, public institution, enterprise) with at
  least ``model.branch_min_members`` full members forms its own branch; a platform organisation
  gets one only where coverage of the new sectors reaches it (``policy.platform_coverage``,
  even before it has a member: a branch on paper).
* **Split.** A branch holds at most ``model.branch_max_members`` members. At set-up a unit's
  members are dealt evenly over ``ceil(members / max)`` branches; during a run people who join
  a full branch go to a new branch of the same kind, unit and community (:func:`join`).
* **Joint branches.** Small traditional units that coverage work reaches (``policy.coverage``,
  one stored draw per unit) join a joint branch of neighbouring units, up to
  ``model.joint_branch_units`` units and never more members than the maximum.
* **Community branches** hold members outside work; a dual-registered member of a workplace
  branch is also registered in their community's (first) branch.
* **Online branches**, one set per street committee, take in a share
  ``policy.online_branches`` of the members left without any branch (:func:`online_pickup`).
* **Rehome.** A member who loses a branch goes to the community branch if dual-registered,
  else (with chance ``policy.online_branches``) to the street's online branch, else floats.
* **Dissolve.** A unit whose full members fall below the minimum loses its own branch: its
  members join a joint branch if coverage reaches the unit, else they are rehomed.

Every function is vectorised; the only loops run over streets (a few dozen), never people.
New branches are appended with :meth:`sim.state.Branches.grow`.
"""

from __future__ import annotations

import numpy as np

from sim.network import add_ties, drop_people, group_layout, neighbours
from sim.params import ModelParams, PolicyParams
from sim.state import (
    COMMUNITY,
    ENTERPRISE,
    JOINT,
    ONLINE,
    PLATFORM,
    PLATFORM_BRANCH,
    UNIT,
    Branches,
    Hierarchy,
    People,
    State,
    Units,
    at_branch,
)


def _split_rank(group: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For items labelled by group: (rank inside the group, size of the group), random order."""
    order, _, size, pos = group_layout(group, rng)
    rank = np.empty_like(pos)
    rank[order] = pos
    sz = np.empty_like(size)
    sz[order] = size
    return rank, sz


def branches_needed(members: np.ndarray, max_members: int) -> np.ndarray:
    """Branches a group of ``members`` needs so that none holds more than ``max_members``."""
    return -(-members // max_members)


def street_first_community(hierarchy: Hierarchy) -> np.ndarray:
    """For each committee id, the first community of its street (-1 for higher committees).

    An online branch sits, for the hierarchy, in its street's first community.
    """
    streets = hierarchy.street_of_community
    first = np.full(hierarchy.committee_level.size, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, streets, np.arange(streets.size))
    return np.where(first == np.iinfo(np.int64).max, -1, first)


# --------------------------------------------------------------------------- set-up


def form_branches(
    people: People,
    units: Units,
    hierarchy: Hierarchy,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
) -> Branches:
    """Lay branches over the members at set-up, by the rules above and the coverage policy.

    Order of the rules: own branches of traditional units with enough members (split above the
    maximum); joint branches of small traditional units that coverage work reaches; branches
    of platform organisations that coverage of the new sectors reaches; community branches for
    members outside work; online branches for a share of the members still unattached.
    Everyone else floats. Dual registration is drawn last.

    Writes ``people.home_branch``, ``people.dual_registered``, ``units.branch``,
    ``units.staff``, ``units.cover_draw`` and ``hierarchy.community_branch``.

    Returns:
        The branches (their members and capacity not yet counted).
    """
    n, n_units = people.n, units.n
    member, unit = people.member, people.unit
    in_unit = member & (unit >= 0)
    m_unit = np.bincount(unit[in_unit], minlength=n_units)
    staff = np.bincount(unit[unit >= 0], minlength=n_units)
    traditional = units.sector != PLATFORM

    kinds: list[np.ndarray] = []
    comms: list[np.ndarray] = []
    units_of: list[np.ndarray] = []
    unit_branch = np.full(n_units, -1, np.int32)
    home = np.full(n, -1, np.int32)
    next_b = 0

    def add(kind: int, communities: np.ndarray, owner: np.ndarray | None = None) -> None:
        nonlocal next_b
        kinds.append(np.full(communities.size, kind, np.int8))
        comms.append(communities)
        units_of.append(np.full(communities.size, -1, np.int64) if owner is None else owner)
        next_b += communities.size

    def own_branches(units_mask: np.ndarray, kind: int) -> None:
        """Each selected unit gets ceil(members / max) branches; its members are dealt out."""
        sel = np.flatnonzero(units_mask)
        nb = np.maximum(1, branches_needed(m_unit[sel], p.branch_max_members))
        first = np.zeros(n_units, np.int64)
        first[sel] = next_b + np.cumsum(nb) - nb
        count = np.zeros(n_units, np.int64)
        count[sel] = nb
        unit_branch[sel] = first[sel]
        staff_ids = np.flatnonzero(in_unit & at_branch(units_mask, unit, False))
        rank, _ = _split_rank(unit[staff_ids], rng)
        u = unit[staff_ids]
        home[staff_ids] = first[u] + rank % count[u]
        add(kind, np.repeat(units.community[sel], nb), np.repeat(sel, nb))

    # 1. traditional units with enough members: own branch(es)
    own = traditional & (m_unit >= p.branch_min_members)
    own_branches(own, UNIT)
    # 2. small traditional units reached by coverage work: joint branches of up to k units, and
    # never more members than the maximum (a small unit has at most min - 1 members)
    cover_draw = rng.random(n_units)
    small = traditional & ~own & (staff > 0) & (cover_draw < policy.coverage)
    sel = np.flatnonzero(small)
    per_joint = p.joint_branch_units
    if p.branch_min_members > 1:
        per_joint = min(per_joint, max(1, p.branch_max_members // (p.branch_min_members - 1)))
    if sel.size:
        sel = sel[np.argsort(units.community[sel], kind="stable")]  # neighbours join up
        joint = np.arange(sel.size) // per_joint
        unit_branch[sel] = next_b + joint
        staff_ids = np.flatnonzero(in_unit & at_branch(small, unit, False))
        home[staff_ids] = unit_branch[unit[staff_ids]]
        first_unit = sel[np.r_[0, np.flatnonzero(np.diff(joint)) + 1]]
        add(JOINT, units.community[first_unit])
    # 3. platform organisations reached by coverage of the new sectors
    plat_draw = rng.random(n_units)
    cover_draw = np.where(traditional, cover_draw, plat_draw)
    plat = ~traditional & (staff > 0) & (plat_draw < policy.lever("platform_coverage"))
    own_branches(plat, PLATFORM_BRANCH)
    # 4. members outside work: community branches (split above the maximum)
    n_comm = hierarchy.street_of_community.size
    community_branch = np.full(n_comm, -1, np.int32)
    outside = np.flatnonzero(member & (unit < 0))
    if outside.size:
        c = people.community[outside]
        m_comm = np.bincount(c, minlength=n_comm)
        nb_comm = np.maximum(1, branches_needed(m_comm, p.branch_max_members)) * (m_comm > 0)
        first = next_b + np.cumsum(nb_comm) - nb_comm
        rank, _ = _split_rank(c, rng)
        home[outside] = first[c] + rank % np.maximum(nb_comm[c], 1)
        has = np.flatnonzero(nb_comm)
        community_branch[has] = first[has]
        add(COMMUNITY, np.repeat(has, nb_comm[has]).astype(np.int32))
    # 5. members still unattached: their street's online branches take a share of them
    loose = np.flatnonzero(member & (home < 0))
    take_draw = rng.random(loose.size)  # drawn whatever the lever (paired runs)
    online_share = policy.lever("online_branches")
    if online_share > 0:
        offset = int(hierarchy.street_of_community.min())
        local_of_comm = hierarchy.street_of_community - offset
        n_street = int(local_of_comm.max()) + 1
        taken = loose[take_draw < online_share]
        local = local_of_comm[people.community[taken]]
        nb_street = branches_needed(np.bincount(local, minlength=n_street), p.branch_max_members)
        first = next_b + np.cumsum(nb_street) - nb_street
        rank, _ = _split_rank(local, rng)
        home[taken] = first[local] + rank % np.maximum(nb_street[local], 1)
        add(ONLINE, np.repeat(street_first_community(hierarchy)[offset:], nb_street))

    community = (np.concatenate(comms) if comms else np.empty(0)).astype(np.int32)
    branches = Branches()
    branches.grow(
        np.concatenate(kinds) if kinds else np.empty(0, np.int8),
        community,
        hierarchy.street_of_community[community],
        (np.concatenate(units_of) if units_of else np.empty(0)).astype(np.int32),
    )
    units.branch = unit_branch
    units.staff = staff.astype(np.int64)
    units.cover_draw = cover_draw
    hierarchy.community_branch = community_branch
    people.home_branch = home
    # dual registration applies to members whose branch sits at their workplace or online
    at_work = at_branch(branches.kind, home, COMMUNITY) != COMMUNITY
    people.dual_registered = member & at_work & (rng.random(n) < policy.embedding)
    return branches


# --------------------------------------------------------------------------- during a run


def open_branches(
    state: State, kind: int | np.ndarray, communities: np.ndarray, units: np.ndarray | None = None
) -> np.ndarray:
    """Open new, empty branches of the given kinds in the given communities; return their ids."""
    communities = np.asarray(communities, np.int32)
    committee = state.hierarchy.street_of_community[communities]
    return state.branches.grow(kind, communities, committee, units)


def place_in_streets(
    state: State,
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
        state: the model state (its branches grow).
        kind: ONLINE or JOINT.
        streets: street (lowest committee) of each item.
        room: places left in every branch (ignored for other kinds).
        per_new: places in a new branch.
        new_community: for each item, the community a branch opened for it would sit in.

    Returns:
        The branch of each item.
    """
    b = state.branches
    out = np.full(streets.size, -1, np.int64)
    for street in np.unique(streets):
        items = np.flatnonzero(streets == street)
        ids = np.flatnonzero((b.kind == kind) & (b.committee == street))
        ids = ids[room[ids] > 0]
        ids = ids[np.argsort(-room[ids], kind="stable")]
        cum = np.cumsum(room[ids])
        fits = np.arange(items.size) < (cum[-1] if cum.size else 0)
        out[items[fits]] = ids[np.searchsorted(cum, np.arange(fits.sum()), side="right")]
        rest = items[~fits]
        if rest.size:
            n_new = -(-rest.size // per_new)
            new = open_branches(state, kind, new_community[rest[::per_new]][:n_new])
            out[rest] = new[np.arange(rest.size) // per_new]
            room = np.concatenate([room, np.zeros(n_new, room.dtype)])
    return out


def join(state: State, p: ModelParams, pids: np.ndarray, branches: np.ndarray) -> np.ndarray:
    """Where people who join the given branches end up, splitting full branches (party rules).

    A branch holds at most ``model.branch_max_members`` members. When joiners would take a
    branch past it, the branch splits: new branches of the same kind, community and unit are
    opened (as few as the rule allows) and its members, old and new, are dealt evenly over
    them, as at set-up; old members moved by the split get their new home branch here. A
    target of -1 stays -1 (floating).

    Returns:
        The branch of each joiner.
    """
    b, people, cap = state.branches, state.people, p.branch_max_members
    out = np.asarray(branches, np.int64).copy()
    has = np.flatnonzero(out >= 0)
    if has.size == 0:
        return out
    joining = np.zeros(people.n, bool)
    joining[pids] = True
    hb = people.home_branch
    stay = people.member & (hb >= 0) & ~joining
    size = np.bincount(hb[stay], minlength=b.n)
    total = size + np.bincount(out[has], minlength=b.n)
    targets = np.flatnonzero(total > cap)
    if targets.size == 0:
        return out
    # the members of each splitting branch, old first, then the joiners
    is_target = np.zeros(b.n, bool)
    is_target[targets] = True
    old = np.flatnonzero(stay & at_branch(is_target, hb, False))
    new = has[is_target[out[has]]]
    src = np.concatenate([hb[old], out[new]]).astype(np.int64)
    parts = branches_needed(total[targets], cap)  # branches each splits into
    opened = open_branches(
        state,
        b.kind[targets].repeat(parts - 1),
        b.community[targets].repeat(parts - 1),
        b.unit[targets].repeat(parts - 1),
    )
    # branch j of target i: the target itself for j = 0, else its (j-1)-th new branch
    first_new = np.cumsum(parts - 1) - (parts - 1)
    k = np.searchsorted(targets, src)
    order = np.argsort(src, kind="stable")
    rank = np.empty(src.size, np.int64)
    sorted_src = src[order]
    start = np.maximum.accumulate(
        np.where(np.r_[True, sorted_src[1:] != sorted_src[:-1]], np.arange(src.size), 0)
    )
    rank[order] = np.arange(src.size) - start
    j = rank % parts[k]
    dest = np.where(j == 0, src, opened[np.maximum(first_new[k] + j - 1, 0)])
    people.home_branch[old] = dest[: old.size]
    out[new] = dest[old.size :]
    return out


def online_pickup(state: State, p: ModelParams, pids: np.ndarray) -> np.ndarray:
    """Online branches of the people's streets take them in (opening branches when full)."""
    if pids.size == 0:
        return np.empty(0, np.int64)
    h = state.hierarchy
    room = p.branch_max_members - state.branches.members
    streets = h.street_of_community[state.people.community[pids]]
    return place_in_streets(
        state,
        ONLINE,
        streets,
        room,
        p.branch_max_members,
        street_first_community(h)[streets],
    )


def rehome(
    state: State, p: ModelParams, policy: PolicyParams, pids: np.ndarray, draw: np.ndarray
) -> np.ndarray:
    """New home branch of members who lost theirs: community if dual-registered, else online.

    Args:
        state: the model state.
        p: model parameters.
        policy: policy levers (``online_branches``).
        pids: members who lost their branch (their platform branch, if any, already applied).
        draw: one uniform per person, compared with ``policy.online_branches``.

    Returns:
        The branch each person joins, or -1 (floating).
    """
    home = np.full(pids.size, -1, np.int64)
    if pids.size == 0:
        return home
    people = state.people
    comm_b = state.hierarchy.community_branch[people.community[pids]]
    dual = people.dual_registered[pids] & (comm_b >= 0)
    home[dual] = comm_b[dual]
    home = join(state, p, pids, home)
    online = ~dual & (draw < policy.lever("online_branches"))
    home[online] = online_pickup(state, p, pids[online])
    return home


def fix_dual(state: State, pids: np.ndarray) -> None:
    """Dual registration exists only beside a workplace or online branch."""
    people = state.people
    kind = at_branch(state.branches.kind, people.home_branch[pids], COMMUNITY)
    people.dual_registered[pids] &= kind != COMMUNITY


def dissolve(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    units: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Units lose their own branches; members go to a joint branch, or are rehomed.

    A dissolved branch keeps its row, empty and tied to no unit.
    """
    b, u, people = state.branches, state.units, state.people
    units = np.asarray(units, np.int64)
    first = u.branch[units].astype(np.int64)
    own_b = np.flatnonzero(np.isin(b.unit, units))  # the units' own branches
    covered = u.cover_draw[units] < policy.coverage
    target = np.full(units.size, -1, np.int64)
    if covered.any():
        ub = u.branch[u.branch >= 0]
        units_in = np.bincount(ub, minlength=b.n)
        room = np.where(b.kind == JOINT, p.joint_branch_units - units_in, 0)
        target[covered] = place_in_streets(
            state,
            JOINT,
            b.committee[first[covered]],
            room,
            p.joint_branch_units,
            u.community[units[covered]],
        )
    u.branch[units] = target
    b.unit[own_b] = -1
    own_mask = np.zeros(b.n, bool)
    own_mask[own_b] = True
    hb = people.home_branch
    affected = np.flatnonzero(people.member & at_branch(own_mask, hb, False))
    draws = rng.random(affected.size)
    unit_of = np.searchsorted(units, people.unit[affected])  # units is sorted (np.unique)
    joint_of = target[np.minimum(unit_of, units.size - 1)]
    in_joint = (people.unit[affected] >= 0) & (joint_of >= 0)
    hb[affected[in_joint]] = join(state, p, affected[in_joint], joint_of[in_joint])
    rest = affected[~in_joint]
    hb[rest] = rehome(state, p, policy, rest, draws[~in_joint])
    fix_dual(state, affected)
    state.tally.dissolved += units.size


def weak_own_branches(state: State, p: ModelParams, touched_units: np.ndarray) -> np.ndarray:
    """Of the given units, those whose own (unit) branch now has too few full members."""
    u, people = state.units, state.people
    touched = np.unique(touched_units)
    touched = touched[u.branch[touched] >= 0]
    own = touched[state.branches.kind[u.branch[touched]] == UNIT]
    if own.size == 0:
        return own
    in_unit = people.member & (people.unit >= 0)
    m_unit = np.bincount(people.unit[in_unit], minlength=u.n)
    return own[m_unit[own] < p.branch_min_members]


def community_home(state: State, p: ModelParams, pids: np.ndarray) -> np.ndarray:
    """The community branch of each person's community (opened where there is none yet), with
    splits when full: where members outside work belong."""
    if pids.size == 0:
        return np.empty(0, np.int64)
    h = state.hierarchy
    comm = state.people.community[pids]
    missing = np.unique(comm[h.community_branch[comm] < 0])
    if missing.size:
        h.community_branch[missing] = open_branches(state, COMMUNITY, missing)
    return join(state, p, pids, h.community_branch[comm].astype(np.int64))


def relocate(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    pids: np.ndarray,
    dest: np.ndarray,
    sector: np.ndarray,
) -> None:
    """People change work: they leave their unit (if any) for unit ``dest`` (-1: out of work)
    in ``sector``; ties, staff counts and branches follow the party's rules.

    Work ties: a person loses every work tie and draws new ones to random co-workers of the new
    unit (``model.work_degree``, or ``model.platform_work_degree`` on a platform), as the world
    builder does. Branches: a member whose branch belonged to the old workplace (unit, joint or
    platform branch; or a floating member) joins the new unit's branch if it has one; out of
    work, the community's branch (also from an online branch); otherwise :func:`rehome`
    (community if dual-registered, online pickup, or floating). Units left with too few members
    lose their own branch (:func:`dissolve`). Members and capacity are recounted.

    Args:
        state: the model state.
        p: model parameters.
        policy: policy levers.
        rng: the dynamics generator.
        pids: the people who change work (distinct).
        dest: their new unit each (-1: none).
        sector: their new sector each.
    """
    people, units, b, net = state.people, state.units, state.branches, state.network
    pids = np.asarray(pids, np.int64)
    if pids.size == 0:
        return
    old = people.unit[pids].copy()
    moving = np.zeros(people.n, bool)
    moving[pids] = True
    # whose work ties change: the movers and everyone tied to them, before and after
    changed = [pids, neighbours(net.layers["work"], pids)]
    work = drop_people(net.layers["work"], moving)
    degree = np.where(sector == PLATFORM, p.platform_work_degree, p.work_degree)
    has = dest >= 0
    if has.any() and degree[has].max() > 0:
        # co-workers: people already in the destination unit (not among the movers)
        staff = np.flatnonzero((people.unit >= 0) & ~moving)
        order, _, size, _ = group_layout(people.unit[staff], rng)
        sorted_units = people.unit[staff][order]
        src = np.repeat(pids[has], degree[has])
        u = np.repeat(dest[has], degree[has])
        pos = np.searchsorted(sorted_units, u)
        ok = (pos < sorted_units.size) & (sorted_units[np.minimum(pos, sorted_units.size - 1)] == u)
        pick = pos[ok] + np.floor(rng.random(int(ok.sum())) * size[pos[ok]]).astype(np.int64)
        work = add_ties(work, src[ok], staff[order][pick])
        changed.append(staff[order][pick])
    net.set_layer("work", work, rows=np.concatenate(changed))
    np.subtract.at(units.staff, old[old >= 0], 1)
    np.add.at(units.staff, dest[has], 1)
    people.unit[pids] = dest
    people.sector[pids] = sector
    people.out_of_system[pids] = (sector == ENTERPRISE) | (sector == PLATFORM)
    people.version += 1
    # branches of the members among them
    draws = rng.random(pids.size)  # online pickup draws, one per person (paired runs)
    is_member = people.member[pids]
    mm, mdest, mdraw = pids[is_member], dest[is_member], draws[is_member]
    kind = at_branch(b.kind, people.home_branch[mm], -1)
    # out of work (retirement), a member of an online branch moves home too: the online branch
    # stands in for a workplace the member no longer has
    lost = np.isin(kind, (UNIT, JOINT, PLATFORM_BRANCH, -1)) | ((kind == ONLINE) & (mdest < 0))
    new_b = at_branch(units.branch, mdest, -1)
    to_unit = lost & (new_b >= 0)
    people.home_branch[mm[to_unit]] = join(state, p, mm[to_unit], new_b[to_unit])
    out = lost & ~to_unit & (mdest < 0)
    people.home_branch[mm[out]] = community_home(state, p, mm[out])
    rest = lost & ~to_unit & ~out
    people.home_branch[mm[rest]] = rehome(state, p, policy, mm[rest], mdraw[rest])
    fix_dual(state, mm)
    people.dual_registered[mm[mdest < 0]] = False  # out of work, they are home already
    weak = weak_own_branches(state, p, old[old >= 0])
    if weak.size:
        dissolve(state, p, policy, weak, rng)
    b.recount(people)
