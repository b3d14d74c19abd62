"""World builder: a synthetic society and the party organisation laid over it (DESIGN §4).

People live in residential communities and, if employed, work in units of one of three
sectors (state organs and public institutions, enterprises, platform organisations). Members
are drawn at the calibrated share with sector-specific odds. Branches follow the party's rules:
a unit with at least three full members forms its own branch, splitting above fifty; smaller
traditional units join joint branches of up to five units when coverage work reaches them
(``policy.coverage``); platform organisations get a branch only through coverage of the new
sectors (``policy.platform_coverage``); members outside work sit in community branches; members
left without any branch join their street's online branch (``policy.online_branches``) or float.
A committee hierarchy with work departments sits above the branches, and social organisations
recruit their members mostly from one community.

Everything is built from numpy arrays in a handful of vectorised passes; the only loops run
over hierarchy levels. The builder returns a plain :class:`World`; the model wraps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from sim.network import build_layers, group_layout
from sim.params import ModelParams, PolicyParams

# sectors
STATE, ENTERPRISE, PLATFORM, NONE = 0, 1, 2, 3
SECTORS = ("state", "enterprise", "platform", "none")
# branch kinds
UNIT, JOINT, PLATFORM_BRANCH, COMMUNITY, ONLINE = 0, 1, 2, 3, 4
BRANCH_KINDS = ("unit", "joint", "platform", "community", "online")
DEPARTMENT_KINDS = (
    "organisation",
    "propaganda",
    "social_work",
    "discipline",
    "united_front",
    "political_legal",
)


def at_branch(values: np.ndarray, branch: np.ndarray, default: float | int = 0) -> np.ndarray:
    """``values[branch]``, with ``default`` where ``branch`` is -1 (also when there is no branch).

    Padding the per-branch array with the default lets -1 index it, so code stays the same
    for a world without any branch.
    """
    return np.append(values, np.asarray(default, dtype=values.dtype))[branch]


@dataclass
class World:
    """Arrays describing people, units, branches, hierarchy and social organisations."""

    # people (index = person id)
    sector: np.ndarray  # int8, one of STATE..NONE
    unit: np.ndarray  # int32, work unit or -1
    community: np.ndarray  # int32, residential community
    retired: np.ndarray  # bool
    new_strata: np.ndarray  # bool
    age: np.ndarray  # uint8, years
    member: np.ndarray  # bool, party member
    layers: dict[str, sp.csr_array]
    online_activity: np.ndarray  # float, Chung-Lu weight of each person on the online layer
    # units
    unit_sector: np.ndarray  # int8
    unit_community: np.ndarray  # int32
    # hierarchy: committees level 0 (top) .. levels-2; branches sit at depth levels-1
    committee_level: np.ndarray
    committee_parent: np.ndarray
    department_committee: np.ndarray
    department_kind: np.ndarray
    street_of_community: np.ndarray
    # social organisations
    org_members: sp.csr_array  # people x organisations, binary
    org_community: np.ndarray
    # branches (filled by form_branches)
    branch_kind: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    branch_community: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    branch_committee: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    unit_branch: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    home_branch: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    dual_registered: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    # per branch: the unit whose own (unit or platform) branch it is, else -1
    branch_unit: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    # per unit: how many people work in it now, and the uniform draw that decides whether
    # coverage work reaches it (kept, so a unit that later loses its own branch meets the same
    # draw: common random numbers)
    unit_staff: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    unit_cover_draw: np.ndarray = field(default_factory=lambda: np.empty(0))
    # per community: its first community branch (-1 if none)
    community_branch: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))

    @property
    def people(self) -> int:
        return int(self.sector.size)

    @property
    def units(self) -> int:
        return int(self.unit_sector.size)

    @property
    def branches(self) -> int:
        return int(self.branch_kind.size)


def _exact_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to n that follow the shares (largest remainders)."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    counts[np.argsort(counts - raw)[:rest]] += 1
    return counts


def _unit_sizes(n: int, mean: float, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed unit sizes (lognormal, sigma 1) that add up to exactly n."""
    if n == 0:
        return np.empty(0, np.int64)
    mu = np.log(mean) - 0.5
    sizes = np.empty(0, np.int64)
    while sizes.sum() < n:
        draw = np.maximum(1, np.rint(rng.lognormal(mu, 1.0, int(n / mean) + 16))).astype(np.int64)
        sizes = np.concatenate([sizes, draw])
    cs = np.cumsum(sizes)
    k = int(np.searchsorted(cs, n)) + 1
    sizes = sizes[:k].copy()
    sizes[-1] -= cs[k - 1] - n
    return sizes[sizes > 0]


def _weighted_sample(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k distinct indices drawn with probability proportional to weights (Gumbel top-k)."""
    with np.errstate(divide="ignore"):
        keys = np.log(weights) - np.log(-np.log(rng.random(weights.size)))
    if k >= weights.size:
        return np.arange(weights.size)
    return np.argpartition(-keys, k)[:k]


def build_population(p: ModelParams, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """People with sectors, units, communities, ages and membership."""
    n = p.people
    shares = np.array(
        [
            p.share_state,
            p.share_enterprise,
            p.share_platform,
            max(0.0, 1.0 - p.share_state - p.share_enterprise - p.share_platform),
        ]
    )
    counts = _exact_counts(shares, n)
    sector = rng.permutation(np.repeat(np.arange(4, dtype=np.int8), counts))

    unit = np.full(n, -1, np.int32)
    unit_sector = []
    next_unit = 0
    means = {
        STATE: p.unit_size_state,
        ENTERPRISE: p.unit_size_enterprise,
        PLATFORM: p.unit_size_platform,
    }
    for s, mean in means.items():
        idx = np.flatnonzero(sector == s)
        sizes = _unit_sizes(idx.size, mean, rng)
        unit[idx] = next_unit + np.repeat(np.arange(sizes.size), sizes)
        unit_sector.append(np.full(sizes.size, s, np.int8))
        next_unit += sizes.size
    unit_sector = np.concatenate(unit_sector) if unit_sector else np.empty(0, np.int8)

    n_comm = max(1, int(round(n / p.community_size)))
    community = (rng.permutation(n) % n_comm).astype(np.int32)

    none = sector == NONE
    retired = none & (rng.random(n) < p.retired_share_none)
    age = np.where(
        retired,
        rng.integers(60, 91, n),
        np.where(none, rng.integers(18, 31, n), rng.integers(20, 61, n)),
    ).astype(np.uint8)

    odds = np.array(
        [p.member_odds_state, p.member_odds_enterprise, p.member_odds_platform, p.member_odds_none]
    )
    n_members = int(round(p.member_share * n))
    member = np.zeros(n, bool)
    member[_weighted_sample(odds[sector], n_members, rng)] = True

    non_public = (sector == ENTERPRISE) | (sector == PLATFORM)
    new_strata = np.zeros(n, bool)
    pool = np.flatnonzero(non_public)
    k = min(pool.size, int(round(p.new_strata_share * n)))
    new_strata[rng.choice(pool, k, replace=False)] = True

    # a unit's location: the community of one of its workers, drawn at random
    unit_community = np.zeros(unit_sector.size, np.int32)
    has_unit = np.flatnonzero(unit >= 0)
    unit_community[unit[has_unit]] = community[has_unit]
    return dict(
        sector=sector,
        unit=unit,
        community=community,
        retired=retired,
        new_strata=new_strata,
        age=age,
        member=member,
        unit_sector=unit_sector,
        unit_community=unit_community,
    )


def build_hierarchy(p: ModelParams, n_communities: int) -> dict[str, np.ndarray]:
    """Committees in levels (top = level 0) with work departments attached.

    The lowest committee level holds one street/township committee per
    ``communities_per_street`` communities; each level above groups ``committee_fanout``
    committees; the top has one. With two levels, a single committee leads every branch.
    """
    n_committee_levels = p.levels - 1
    if n_committee_levels == 1:
        counts = [1]
        street_of_community = np.zeros(n_communities, np.int32)
    else:
        n_streets = -(-n_communities // p.communities_per_street)
        counts = [n_streets]
        for _ in range(n_committee_levels - 2):
            counts.append(max(1, -(-counts[-1] // p.committee_fanout)))
        counts.append(1)
        counts = counts[::-1]
        street_of_community = (np.arange(n_communities) // p.communities_per_street).astype(
            np.int32
        )
    offsets = np.cumsum([0] + counts)
    level = np.repeat(np.arange(len(counts)), counts).astype(np.int32)
    parent = np.full(offsets[-1], -1, np.int32)
    for lv in range(1, len(counts)):
        local = np.arange(counts[lv])
        parent[offsets[lv] : offsets[lv + 1]] = offsets[lv - 1] + np.minimum(
            local // p.committee_fanout, counts[lv - 1] - 1
        )
    lowest = offsets[-2]
    dept_committee = np.repeat(np.arange(offsets[-1], dtype=np.int32), p.departments)
    dept_kind = np.tile(np.arange(p.departments, dtype=np.int32), offsets[-1])
    return dict(
        committee_level=level,
        committee_parent=parent,
        department_committee=dept_committee,
        department_kind=dept_kind,
        street_of_community=(street_of_community + lowest).astype(np.int32),
    )


def build_social_orgs(
    p: ModelParams, community: np.ndarray, rng: np.random.Generator
) -> tuple[sp.csr_array, np.ndarray]:
    """Social organisations (0.63 per 1,000 people), members drawn mostly from one community."""
    n = community.size
    n_org = max(1, int(round(p.social_org_rate * n / 1000)))
    n_comm = int(community.max()) + 1
    org_community = rng.integers(0, n_comm, n_org).astype(np.int32)
    sizes = np.minimum(rng.geometric(1.0 / p.social_org_size, n_org), n)
    org = np.repeat(np.arange(n_org), sizes)
    order, start, size, _ = group_layout(community, rng)
    comm_start = np.zeros(n_comm, np.int64)
    comm_size = np.zeros(n_comm, np.int64)
    comm_start[community[order]] = start
    comm_size[community[order]] = size
    c = org_community[org]
    local = rng.random(org.size) < 0.6
    pick = np.where(
        local & (comm_size[c] > 0),
        order[
            np.minimum(comm_start[c] + np.floor(rng.random(org.size) * comm_size[c]), n - 1).astype(
                np.int64
            )
        ],
        rng.integers(0, n, org.size),
    )
    s = sp.csr_array((np.ones(org.size, np.float32), (pick, org)), shape=(n, n_org))
    s.sum_duplicates()
    s.data[:] = 1.0
    return s, org_community


def _split_rank(group: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For items labelled by group: (rank inside the group, size of the group), random order."""
    order, _, size, pos = group_layout(group, rng)
    rank = np.empty_like(pos)
    rank[order] = pos
    sz = np.empty_like(size)
    sz[order] = size
    return rank, sz


def street_first_community(w: World) -> np.ndarray:
    """For each committee id, the first community of its street (-1 for higher committees).

    An online branch sits, for the hierarchy, in its street's first community.
    """
    first = np.full(w.committee_level.size, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, w.street_of_community, np.arange(w.street_of_community.size))
    return np.where(first == np.iinfo(np.int64).max, -1, first)


def form_branches(w: World, p: ModelParams, policy: PolicyParams, rng: np.random.Generator) -> None:
    """Lay branches over the members by the party's rules and the coverage policy (in place).

    Order of the rules: own branches of traditional units with enough members (split above the
    maximum); joint branches of small traditional units that coverage work reaches (chance
    ``policy.coverage`` per unit; up to ``joint_branch_units`` units, fewer if their members
    could exceed ``branch_max_members``); branches of platform organisations that coverage of
    the new sectors reaches (chance ``policy.platform_coverage`` per organisation, even when it
    has no member yet: a branch on paper); community branches for members outside work; online
    branches, one set per street committee, for a share ``policy.online_branches`` of the
    members still unattached. Everyone else floats. Dual registration is drawn last.
    """
    n, n_units = w.people, w.units
    member = w.member
    in_unit = member & (w.unit >= 0)
    m_unit = np.bincount(w.unit[in_unit], minlength=n_units)
    staff = np.bincount(w.unit[w.unit >= 0], minlength=n_units)
    traditional = w.unit_sector != PLATFORM
    coverage = policy.coverage
    platform_coverage = policy.lever("platform_coverage")
    online_share = policy.lever("online_branches")

    kinds: list[np.ndarray] = []
    comms: list[np.ndarray] = []
    unit_branch = np.full(n_units, -1, np.int32)
    units_of: list[np.ndarray] = []
    home = np.full(n, -1, np.int32)
    next_b = 0

    def split_units(units_mask: np.ndarray, kind: int) -> None:
        """Each selected unit gets ceil(members / max) branches; its members are dealt out."""
        nonlocal next_b
        sel = np.flatnonzero(units_mask)
        nb = np.maximum(1, -(-m_unit[sel] // p.branch_max_members))
        first = np.zeros(n_units, np.int64)
        first[sel] = next_b + np.cumsum(nb) - nb
        count = np.zeros(n_units, np.int64)
        count[sel] = nb
        unit_branch[sel] = first[sel]
        units_of.append(np.repeat(sel, nb))
        people = np.flatnonzero(in_unit & units_mask[np.maximum(w.unit, 0)] & (w.unit >= 0))
        rank, _ = _split_rank(w.unit[people], rng)
        u = w.unit[people]
        home[people] = first[u] + rank % count[u]
        kinds.append(np.full(nb.sum(), kind, np.int8))
        comms.append(np.repeat(w.unit_community[sel], nb))
        next_b += int(nb.sum())

    def no_unit(k: int) -> None:
        units_of.append(np.full(k, -1, np.int64))

    # 1. traditional units with enough members: own branch(es)
    own = traditional & (m_unit >= p.branch_min_members)
    split_units(own, UNIT)
    # 2. small traditional units reached by coverage work: joint branches of up to k units, and
    # never more members than the maximum (a small unit has at most min - 1 members)
    cover_draw = rng.random(n_units)
    small = traditional & ~own & (staff > 0) & (cover_draw < coverage)
    sel = np.flatnonzero(small)
    per_joint = p.joint_branch_units
    if p.branch_min_members > 1:
        per_joint = min(per_joint, max(1, p.branch_max_members // (p.branch_min_members - 1)))
    if sel.size:
        sel = sel[np.argsort(w.unit_community[sel], kind="stable")]  # neighbours join up
        joint = np.arange(sel.size) // per_joint
        unit_branch[sel] = next_b + joint
        people = np.flatnonzero(in_unit & small[np.maximum(w.unit, 0)] & (w.unit >= 0))
        home[people] = unit_branch[w.unit[people]]
        n_joint = int(joint.max()) + 1
        first_unit = sel[np.r_[0, np.flatnonzero(np.diff(joint)) + 1]]
        kinds.append(np.full(n_joint, JOINT, np.int8))
        comms.append(w.unit_community[first_unit])
        no_unit(n_joint)
        next_b += n_joint
    # 3. platform organisations reached by coverage of the new sectors
    plat_draw = rng.random(n_units)
    cover_draw = np.where(traditional, cover_draw, plat_draw)
    plat = ~traditional & (staff > 0) & (plat_draw < platform_coverage)
    split_units(plat, PLATFORM_BRANCH)
    # 4. members outside work: community branches (split above the maximum)
    n_comm = w.street_of_community.size
    community_branch = np.full(n_comm, -1, np.int32)
    outside = np.flatnonzero(member & (w.unit < 0))
    if outside.size:
        c = w.community[outside]
        m_comm = np.bincount(c, minlength=n_comm)
        nb_comm = np.maximum(1, -(-m_comm // p.branch_max_members)) * (m_comm > 0)
        first = next_b + np.cumsum(nb_comm) - nb_comm
        rank, _ = _split_rank(c, rng)
        home[outside] = first[c] + rank % np.maximum(nb_comm[c], 1)
        has = np.flatnonzero(nb_comm)
        community_branch[has] = first[has]
        kinds.append(np.full(nb_comm.sum(), COMMUNITY, np.int8))
        comms.append(np.repeat(has, nb_comm[has]).astype(np.int32))
        no_unit(int(nb_comm.sum()))
        next_b += int(nb_comm.sum())
    # 5. members still unattached: their street's online branches take a share of them
    loose = np.flatnonzero(member & (home < 0))
    take_draw, deal_draw = rng.random((2, loose.size))  # drawn whatever the lever (paired runs)
    if online_share > 0:
        offset = int(w.street_of_community.min())
        local_of_comm = w.street_of_community - offset
        n_street = int(local_of_comm.max()) + 1
        taken = take_draw < online_share
        local = local_of_comm[w.community[loose[taken]]]
        m_street = np.bincount(local, minlength=n_street)
        nb_street = -(-m_street // p.branch_max_members)
        first = next_b + np.cumsum(nb_street) - nb_street
        home[loose[taken]] = first[local] + np.floor(deal_draw[taken] * nb_street[local]).astype(
            np.int64
        )
        kinds.append(np.full(nb_street.sum(), ONLINE, np.int8))
        comms.append(np.repeat(street_first_community(w)[offset:], nb_street))
        no_unit(int(nb_street.sum()))
        next_b += int(nb_street.sum())

    w.branch_kind = np.concatenate(kinds) if kinds else np.empty(0, np.int8)
    w.branch_community = (np.concatenate(comms) if comms else np.empty(0)).astype(np.int32)
    w.branch_committee = w.street_of_community[w.branch_community]
    w.unit_branch = unit_branch
    w.branch_unit = (np.concatenate(units_of) if units_of else np.empty(0)).astype(np.int32)
    w.unit_staff = staff.astype(np.int64)
    w.unit_cover_draw = cover_draw
    w.community_branch = community_branch
    w.home_branch = home
    # dual registration applies to members whose branch sits at their workplace or online
    at_work = at_branch(w.branch_kind, home, COMMUNITY) != COMMUNITY
    w.dual_registered = member & at_work & (rng.random(n) < policy.embedding)


def build_world(
    p: ModelParams,
    policy: PolicyParams,
    rng_world: np.random.Generator,
    rng_network: np.random.Generator,
) -> World:
    """Build the whole world from two generators spawned from the model's seed."""
    pop = build_population(p, rng_world)
    layers, activity = build_layers(
        pop["unit"],
        pop["community"],
        pop["sector"] == PLATFORM,
        work_degree=p.work_degree,
        platform_work_degree=p.platform_work_degree,
        residence_degree=p.residence_degree,
        residence_rewire=p.residence_rewire,
        online_degree=p.online_degree,
        online_tail=p.online_tail,
        online_platform_boost=p.online_platform_boost,
        rng=rng_network,
        return_activity=True,
    )
    n_comm = int(pop["community"].max()) + 1
    hier = build_hierarchy(p, n_comm)
    orgs, org_comm = build_social_orgs(p, pop["community"], rng_world)
    w = World(
        layers=layers,
        online_activity=activity,
        org_members=orgs,
        org_community=org_comm,
        **pop,
        **hier,
    )
    form_branches(w, p, policy, rng_world)
    return w
