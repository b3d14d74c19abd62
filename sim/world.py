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
from sim.network import build_layers, group_layout, searchsorted_uniform
from sim.organisation import form_branches
from sim.params import ModelParams, PolicyParams
from sim.sampling import weighted_sample
from sim.state import (
    ENTERPRISE,
    NEVER,
    NONE,
    PLATFORM,
    RURAL,
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


def stationary_ages(
    p: ModelParams, lo: int, hi: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Ages in ``[lo, hi]`` in proportion to survival under the model's Gompertz mortality,
    tilted by ``exp(-model.age_tilt * age)``: the age structure of a population whose cohorts
    grew at that rate (a stable population; with the default, 54% of people aged 60 or more
    are under 70, as in China's 2020 census)."""
    ages = np.arange(lo, hi + 1)
    b, a = p.mortality_slope, p.mortality_base
    log_survival = -(a / b) * np.expm1(b * ages) if b > 0 else -a * ages
    log_w = log_survival - p.age_tilt * ages
    w = np.exp(log_w - log_w.max())
    # np.searchsorted(cdf, u, side="right"), through a guide table: a binary search costs a
    # mispredicted branch per level for each of a million people
    return ages[searchsorted_uniform(np.cumsum(w) / w.sum(), rng.random(n)).clip(0, ages.size - 1)]


def build_population(p: ModelParams, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """People with sectors, units, communities (urban ones, then villages), ages, membership."""
    n = p.people
    shares = np.array(
        [
            p.share_state,
            p.share_enterprise,
            p.share_platform,
            max(0.0, 1.0 - p.share_state - p.share_enterprise - p.share_platform - p.share_rural),
            p.share_rural,
        ]
    )
    counts = _exact_counts(shares, n)
    sector = rng.permutation(np.repeat(np.arange(shares.size, dtype=np.int8), counts))

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

    # urban communities, then villages
    rural = sector == RURAL
    n_urban = int(np.count_nonzero(~rural))
    n_comm = max(1, round(n_urban / p.community_size)) if n_urban else 0
    n_vil = max(1, round(int(rural.sum()) / p.village_size)) if rural.any() else 0
    community = np.empty(n, np.int32)
    community[~rural] = rng.permutation(n_urban) % max(n_comm, 1)
    community[rural] = n_comm + rng.permutation(int(rural.sum())) % max(n_vil, 1)
    village = np.arange(n_comm + n_vil) >= n_comm

    none = sector == NONE
    retired = none & (rng.random(n) < p.retired_share_none)
    # ages from the stationary population of the mortality schedule, within each group's range
    age = np.where(
        retired,
        stationary_ages(p, 60, 100, n, rng),
        np.where(
            none,
            stationary_ages(p, 18, 30, n, rng),
            np.where(
                rural, stationary_ages(p, 18, 100, n, rng), stationary_ages(p, 20, 59, n, rng)
            ),
        ),
    ).astype(np.uint8)

    odds = np.array(
        [
            p.member_odds_state,
            p.member_odds_enterprise,
            p.member_odds_platform,
            p.member_odds_none,
            p.member_odds_rural,
        ]
    )
    spread = p.member_unit_spread
    density = np.exp(spread * rng.standard_normal(next_unit) - spread**2 / 2)
    # Clustering is a feature of traditional units (a state-owned firm's dense membership);
    # platform workers are dispersed, and a small world has only a few platform organisations,
    # so a drawn density there would make the platform's whole membership all-or-nothing.
    density[unit_sector == PLATFORM] = 1.0
    # a world without work units (every sector share 0) has no densities to look up
    unit_density = density[np.maximum(unit, 0)] if next_unit else np.ones(n)
    weight = odds[sector] * np.where(unit >= 0, unit_density, 1.0)
    n_members = int(round(p.member_share * n))
    member = np.zeros(n, bool)
    member[weighted_sample(weight, n_members, rng)] = True

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
        village=village,
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
    village = pop.pop("village")
    hierarchy = Hierarchy(**build_hierarchy(p, village.size), rural=village)
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

    Identification for everyone (members identify more with the party), commitment for
    members, the need rates (each community's own level, platform workers' higher odds), needs
    at the level that arising and lapsing alone would keep, thresholds, birthdays, partnered
    social organisations, the committees' own escalation margins, the branches' integration
    effort, this week's hours, business performance and the recruitment pipeline.
    """
    people, orgs, b, h = state.people, state.orgs, state.branches, state.hierarchy
    n = people.n
    x_mass = _beta(rng, p.init_identification, p.init_concentration, n)
    x_member = _beta(rng, p.init_member_identification, p.init_concentration, n)
    c = _beta(rng, p.init_commitment, p.init_concentration, n)
    # float32 halves the memory traffic of the edge-level kernels
    people.identification = np.where(people.member, x_member, x_mass).astype(np.float32)
    people.anchor = people.identification.copy()
    people.commitment = np.where(people.member, c, 0.0).astype(np.float32)
    people.disposition = people.commitment.copy()
    n_comm = h.street_of_community.size
    community_level = np.exp(p.need_spread * rng.standard_normal(n_comm) - p.need_spread**2 / 2)
    odds = np.where(people.sector == PLATFORM, p.need_odds_platform, 1.0)
    people.need_rate = np.minimum(p.need_rate * community_level[people.community] * odds, 1.0)
    people.need_rate = people.need_rate.astype(np.float32)
    # start at the share of needs that arising and lapsing alone would keep
    arise_or_end = people.need_rate + p.need_lapse
    start = np.divide(people.need_rate, arise_or_end, out=np.zeros(n), where=arise_or_end > 0)
    people.need = rng.random(n) < start
    people.private_need = rng.random(n) < p.private_need_share
    people.need_since = np.full(n, NEVER, np.int32)  # only problems arising in a run count
    people.threshold = rng.normal(p.threshold_mean, p.threshold_sd, n)
    people.birthday = rng.integers(0, 52, n).astype(np.int8)
    people.active = np.zeros(n, bool)
    people.reached = np.zeros(n, bool)
    people.last_reached = np.full(n, NEVER, np.int32)
    people.met = np.zeros(n, bool)
    people.met_view = np.zeros(n)
    people.covered = np.zeros(n, bool)
    people.life_week = np.zeros(n, np.int32)
    # social organisations: partnered with probability policy.social_org_partnership (§5.10)
    orgs.partnered = rng.random(orgs.n) < policy.lever("social_org_partnership")
    people.partnered = (orgs.members @ orgs.partnered.astype(np.float32)) > 0
    people.out_of_system = (people.sector == ENTERPRISE) | (people.sector == PLATFORM)
    # each committee's own margin, around the policy's (层层加码 varies by committee)
    spread = p.escalation_spread
    draw = np.exp(spread * rng.standard_normal(h.committee_level.size) - spread**2 / 2)
    h.margin = policy.escalation * draw
    b.recount(people)
    b.effort = fusion.initial_effort(b.n, policy.integration_effort, p.effort_spread, rng)
    b.code = float(policy.integration_effort)
    assessment.step(state, p, policy)
    fusion.update_performance(state, p, policy)
    recruitment.initialise(state, p, policy, rng)
