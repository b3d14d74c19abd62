"""The party's branch rules (sim.organisation) and the state's shape changes (sim.state),
on small worlds built by hand, where every expected branch can be worked out on paper."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sim.organisation import (
    dissolve,
    form_branches,
    join,
    online_pickup,
    place_in_streets,
    rehome,
    weak_own_branches,
)
from sim.params import ModelParams, PolicyParams
from sim.state import (
    COMMUNITY,
    ENTERPRISE,
    JOINT,
    NONE,
    ONLINE,
    PLATFORM,
    PLATFORM_BRANCH,
    STATE,
    UNIT,
    Branches,
    Hierarchy,
    Network,
    People,
    SocialOrgs,
    State,
    Units,
)

#: A branch holds at most 3 members; a unit needs 2 members for its own branch.
P = ModelParams(people=50, branch_min_members=2, branch_max_members=3, joint_branch_units=2)


def people_of(sector, unit, community, member) -> People:
    n = len(sector)
    return People(
        sector=np.array(sector, np.int8),
        unit=np.array(unit, np.int32),
        community=np.array(community, np.int32),
        retired=np.zeros(n, bool),
        new_strata=np.zeros(n, bool),
        age=np.full(n, 40, np.uint8),
        member=np.array(member, bool),
        home_branch=np.full(n, -1, np.int32),
        dual_registered=np.zeros(n, bool),
    )


def hierarchy(n_communities: int = 2) -> Hierarchy:
    """One street committee (id 1) under a top committee (id 0), over every community."""
    return Hierarchy(
        committee_level=np.array([0, 1], np.int32),
        committee_parent=np.array([-1, 0], np.int32),
        department_committee=np.zeros(0, np.int32),
        department_kind=np.zeros(0, np.int32),
        street_of_community=np.ones(n_communities, np.int32),
    )


def world(policy: PolicyParams, seed: int = 0) -> State:
    """Units: 0 state (5 members), 1 enterprise (1 member), 2 enterprise (1 member, no
    coverage draw can matter: see the policy), 3 platform (1 member); two people outside work
    (members, community 0 and 1) and masses."""
    sector = [STATE] * 6 + [ENTERPRISE] * 2 + [ENTERPRISE] * 2 + [PLATFORM] * 2 + [NONE] * 3
    unit = [0] * 6 + [1] * 2 + [2] * 2 + [3] * 2 + [-1] * 3
    community = [0] * 6 + [0, 0] + [1, 1] + [1, 1] + [0, 1, 1]
    member = [1] * 5 + [0] + [1, 0] + [1, 0] + [1, 0] + [1, 1, 0]
    people = people_of(sector, unit, community, member)
    units = Units(
        sector=np.array([STATE, ENTERPRISE, ENTERPRISE, PLATFORM], np.int8),
        community=np.array([0, 0, 1, 1], np.int32),
    )
    h = hierarchy()
    rng = np.random.default_rng(seed)
    branches = form_branches(people, units, h, P, policy, rng)
    branches.recount(people)
    n = people.n
    return State(
        people=people,
        units=units,
        branches=branches,
        network=Network(layers={}, online_activity=np.ones(n)),
        hierarchy=h,
        orgs=SocialOrgs(members=sp.csr_array((n, 0)), community=np.zeros(0, np.int32)),
    )


# ---------------------------------------------------------------------- set-up


def test_form_branches_by_the_rules():
    s = world(PolicyParams(coverage=1.0, platform_coverage=1.0, online_branches=0.0))
    b, people = s.branches, s.people
    hb = people.home_branch
    # unit 0: 5 members, at most 3 a branch -> 2 own branches of 3 and 2 members
    own = np.flatnonzero(b.unit == 0)
    assert own.size == 2 and np.all(b.kind[own] == UNIT)
    assert sorted(np.bincount(hb[:5], minlength=b.n)[own]) == [2, 3]
    assert s.units.branch[0] == own.min()
    # units 1 and 2 (one member each, below the minimum) share a joint branch of 2 units
    joint = np.flatnonzero(b.kind == JOINT)
    assert joint.size == 1 and hb[6] == hb[8] == joint[0]
    assert s.units.branch[1] == s.units.branch[2] == joint[0]
    # the platform organisation gets its own branch through coverage of the new sectors
    plat = np.flatnonzero(b.kind == PLATFORM_BRANCH)
    assert plat.size == 1 and hb[10] == plat[0] and b.unit[plat[0]] == 3
    # members outside work: one community branch per community with such members
    comm = np.flatnonzero(b.kind == COMMUNITY)
    assert sorted(b.community[comm]) == [0, 1]
    assert np.array_equal(s.hierarchy.community_branch[[0, 1]], comm[np.argsort(b.community[comm])])
    assert np.all(hb[~people.member] == -1)
    assert np.all(b.committee == 1)  # every branch under the street committee
    assert b.members.sum() == people.member.sum()


def test_form_branches_without_coverage_leaves_small_units_floating_or_online():
    s = world(PolicyParams(coverage=0.0, platform_coverage=0.0, online_branches=0.0))
    hb = s.people.home_branch
    assert hb[6] == hb[8] == hb[10] == -1  # small units and the platform: no branch
    assert not np.any(s.branches.kind == JOINT) and not np.any(s.branches.kind == PLATFORM_BRANCH)
    online = world(PolicyParams(coverage=0.0, platform_coverage=0.0, online_branches=1.0))
    hb = online.people.home_branch
    assert np.all(online.branches.kind[hb[[6, 8, 10]]] == ONLINE)


def test_dual_registration_only_beside_a_workplace_or_online_branch():
    s = world(PolicyParams(coverage=1.0, platform_coverage=1.0, embedding=1.0))
    people, b = s.people, s.branches
    dual = people.dual_registered
    assert np.array_equal(dual, people.member & (people.home_branch >= 0) & (people.unit >= 0))
    assert not np.any(b.kind[people.home_branch[dual]] == COMMUNITY)


# ---------------------------------------------------------------------- during a run


def test_join_splits_a_full_branch_evenly():
    s = world(PolicyParams(coverage=0.0, platform_coverage=0.0, online_branches=0.0))
    b, people = s.branches, s.people
    target = int(np.flatnonzero(b.members == 2)[0])  # a unit branch with room for 1
    old = np.flatnonzero(people.home_branch == target)
    n_before = b.n
    joiners = np.array([5, 7, 9, 11])  # four masses join it: 6 members, at most 3 a branch
    got = join(s, P, joiners, np.full(4, target))
    assert b.n == n_before + 1  # it splits in two ...
    assert b.kind[n_before] == b.kind[target] and b.unit[n_before] == b.unit[target]
    assert b.community[n_before] == b.community[target]
    people.member[joiners] = True
    people.home_branch[joiners] = got
    b.recount(people)
    assert b.members[target] == b.members[n_before] == 3  # ... of three members each
    assert set(people.home_branch[old]) == {target, n_before}  # an old member moved with it
    assert np.array_equal(join(s, P, joiners[:1], np.array([-1])), [-1])  # -1 stays floating


def test_place_in_streets_fills_room_first_then_opens_branches():
    s = world(PolicyParams(coverage=0.0, platform_coverage=0.0, online_branches=0.0))
    b = s.branches
    n_before = b.n
    room = np.zeros(b.n)
    got = place_in_streets(s, ONLINE, np.ones(5, np.int64), room, 2, np.zeros(5, np.int32))
    # no online branch yet: three new ones of two places each, dealt in order
    assert np.array_equal(got, n_before + np.array([0, 0, 1, 1, 2]))
    assert np.all(b.kind[n_before:] == ONLINE) and b.n == n_before + 3
    room = np.zeros(b.n)
    room[n_before + 2] = 1  # the last one has a place left
    again = place_in_streets(s, ONLINE, np.ones(2, np.int64), room, 2, np.zeros(2, np.int32))
    assert again[0] == n_before + 2 and again[1] == n_before + 3


def test_online_pickup_and_rehome():
    s = world(PolicyParams(coverage=0.0, platform_coverage=0.0, online_branches=0.0))
    people, b = s.people, s.branches
    # member 6 (community 0) lost its branch: dual-registered -> the community branch
    people.dual_registered[6] = True
    policy = PolicyParams(online_branches=1.0)
    got = rehome(s, P, policy, np.array([6, 8]), np.array([0.5, 0.5]))
    assert got[0] == s.hierarchy.community_branch[0]
    assert b.kind[got[1]] == ONLINE and b.community[got[1]] == 0  # the street's first community
    nobody = rehome(s, P, PolicyParams(online_branches=0.0), np.array([8]), np.array([0.5]))
    assert nobody[0] == -1
    picked = online_pickup(s, P, np.array([10]))
    assert b.kind[picked[0]] == ONLINE


def test_dissolve_sends_members_to_a_joint_branch_when_covered():
    s = world(PolicyParams(coverage=1.0, platform_coverage=0.0, online_branches=0.0))
    people, b, u = s.people, s.branches, s.units
    # unit 0 loses three members to another unit: two are left, still enough (min 2) ...
    people.member[[0, 1, 2]] = False
    people.home_branch[[0, 1, 2]] = -1
    b.recount(people)
    assert weak_own_branches(s, P, np.array([0])).size == 0
    # ... one more leaves: below the minimum, its own branches dissolve into a joint branch
    people.member[3] = False
    people.home_branch[3] = -1
    weak = weak_own_branches(s, P, np.array([0, 0]))
    assert np.array_equal(weak, [0])
    own = np.flatnonzero(b.unit == 0)
    dissolve(s, P, PolicyParams(coverage=1.0), weak, np.random.default_rng(0))
    assert np.all(b.unit[own] == -1)  # the rows stay, tied to no unit
    assert b.kind[people.home_branch[4]] == JOINT and u.branch[0] == people.home_branch[4]
    assert s.tally.dissolved == 1


def test_dissolve_rehomes_when_not_covered():
    s = world(PolicyParams(coverage=0.0, platform_coverage=0.0, online_branches=0.0))
    people = s.people
    people.member[[0, 1, 2, 3]] = False
    people.home_branch[[0, 1, 2, 3]] = -1
    dissolve(
        s,
        P,
        PolicyParams(coverage=0.0, online_branches=0.0),
        np.array([0]),
        np.random.default_rng(0),
    )
    assert people.home_branch[4] == -1 and s.units.branch[0] == -1


# ---------------------------------------------------------------------- state


def test_grow_pads_every_branch_array_and_new_branches_adopt_the_code():
    b = Branches()
    b.grow(
        np.array([UNIT, COMMUNITY], np.int8), np.array([0, 1]), np.array([1, 1]), np.array([7, -1])
    )
    b.code = 0.35
    ids = b.grow(ONLINE, np.array([1]), np.array([1]))
    assert np.array_equal(ids, [2])
    for name, arr in b.rows().items():
        assert arr.shape == (3,), name
    assert b.effort[2] == pytest.approx(0.35) and b.unit[2] == -1 and b.kind[2] == ONLINE
    assert np.array_equal(b.unit[:2], [7, -1])
    assert b.grow(ONLINE, np.array([], np.int32), np.array([], np.int32)).size == 0


def test_recount_counts_full_members():
    people = people_of([NONE] * 4, [-1] * 4, [0] * 4, [1, 1, 0, 1])
    people.home_branch = np.array([0, 0, -1, -1], np.int32)
    b = Branches()
    b.grow(COMMUNITY, np.array([0, 0]), np.array([1, 1]))
    b.recount(people)
    assert np.array_equal(b.members, [2, 0])


def test_network_version_changes_with_ties():
    net = Network(layers={"work": sp.csr_array((3, 3))}, online_activity=np.ones(3))
    v = net.version
    net.set_layer("work", sp.csr_array(np.eye(3)))
    assert net.version == v + 1
