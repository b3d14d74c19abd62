"""World builder: a synthetic society and the party organisation laid over it (DESIGN §4).

People live in residential communities and, if employed, work in units of one of three
sectors (state organs and public institutions, enterprises, platform organisations). Members
are drawn at the calibrated share with sector-specific odds. Branches are laid over them by the
party's rules (:func:`sim.organisation.form_branches`). A committee hierarchy with work
departments sits above the branches, and social organisations recruit their members mostly
from one community.

:func:`build_world` returns the initial :class:`sim.state.State` (structure only);
:func:`initialise` then draws the initial conditions of the weekly mechanisms (identification,
commitment, needs, thresholds, partnerships, integration effort, the recruitment pipeline).
The builder never touches the state again: the model owns it from there.

Everything is built from numpy arrays in a handful of vectorised passes; the only loops run
over hierarchy levels.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.mechanisms import assessment, fusion, recruitment
from sim.network import build_layers, group_layout
from sim.organisation import form_branches
from sim.params import ModelParams, PolicyParams
from sim.state import (
    ENTERPRISE,
    NONE,
    PLATFORM,
    STATE,
    Hierarchy,
    Network,
    People,
    SocialOrgs,
    State,
    Units,
)

DEPARTMENT_KINDS = (
    "organisation",
    "propaganda",
    "social_work",
    "discipline",
    "united_front",
    "political_legal",
)


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


def build_world(
    p: ModelParams,
    policy: PolicyParams,
    rng_world: np.random.Generator,
    rng_network: np.random.Generator,
) -> State:
    """Build the initial structure from two generators spawned from the model's seed."""
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
    hierarchy = Hierarchy(**build_hierarchy(p, n_comm))
    org_members, org_community = build_social_orgs(p, pop["community"], rng_world)
    units = Units(sector=pop.pop("unit_sector"), community=pop.pop("unit_community"))
    n = pop["sector"].size
    people = People(**pop, home_branch=np.full(n, -1, np.int32), dual_registered=np.zeros(n, bool))
    branches = form_branches(people, units, hierarchy, p, policy, rng_world)
    return State(
        people=people,
        units=units,
        branches=branches,
        network=Network(layers=layers, online_activity=activity),
        hierarchy=hierarchy,
        orgs=SocialOrgs(members=org_members, community=org_community),
    )


def _beta(rng: np.random.Generator, mean: float, concentration: float, n: int) -> np.ndarray:
    """Beta draws with the given mean and concentration (a + b)."""
    mean = min(max(mean, 1e-6), 1 - 1e-6)
    return rng.beta(mean * concentration, (1 - mean) * concentration, n)


def initialise(
    state: State, p: ModelParams, policy: PolicyParams, rng: np.random.Generator
) -> None:
    """Initial conditions of the weekly mechanisms, drawn from the dynamics generator.

    The order of the draws is part of the model's numbers: keep it.
    """
    people, orgs, b = state.people, state.orgs, state.branches
    n = people.n
    x = _beta(rng, p.init_identification, p.init_concentration, n)
    c = _beta(rng, p.init_commitment, p.init_concentration, n)
    # identification for a mass, commitment for a member: one array, read by role
    # float32 halves the memory traffic of the edge-level kernels
    people.x = np.where(people.member, c, x).astype(np.float32)
    people.x0 = people.x.copy()
    # start at the share of needs that arising and lapsing alone would keep
    arise_or_end = p.need_rate + p.need_lapse
    people.need = rng.random(n) < (p.need_rate / arise_or_end if arise_or_end > 0 else 0.0)
    people.private_need = rng.random(n) < p.private_need_share
    people.threshold = rng.normal(p.threshold_mean, p.threshold_sd, n)
    people.active = np.zeros(n, bool)
    people.reached = np.zeros(n, bool)
    people.met = np.zeros(n, bool)
    people.met_view = np.zeros(n)
    # social organisations: partnered with probability policy.social_org_partnership (§5.10)
    orgs.partnered = rng.random(orgs.n) < policy.lever("social_org_partnership")
    people.partnered = (orgs.members @ orgs.partnered.astype(np.float32)) > 0
    people.out_of_system = (people.sector == ENTERPRISE) | (people.sector == PLATFORM)
    b.recount(people, p.hours_base, p.hours_per_member)
    b.effort = fusion.initial_effort(b.n, policy.integration_effort, p.effort_spread, rng)
    b.code = float(policy.integration_effort)
    assessment.step(state, p, policy)
    fusion.update_performance(state, p, policy)
    recruitment.initialise(state, p, policy, rng)
