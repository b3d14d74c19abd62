"""Typed, range-checked parameters of the model.

Every parameter is a field of a frozen dataclass with one documented line and, where it
matters, an allowed range. The model, the world builder and the mechanisms read only these
plain objects; they know nothing of Hydra or files. ``sim.config`` turns the YAML files under
``configs/`` into them, and the ranges here are the single source of truth for what a config
may say (the schemas registered with Hydra are derived from these classes).

Sources of the calibrated defaults are given in ``docs/ODD.md`` (section "Input data"); every
other default is an assumption, varied over the range given in its metadata.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

#: Version of the model's mechanisms. Part of every run's id: bump it whenever a change to sim/
#: changes the numbers, so results of the old model are never taken for the new one's.
MODEL_VERSION = "2.0.0"


class ConfigError(ValueError):
    """A config value has the wrong type, is out of range, or is unknown.

    The message names the key, the value and what is allowed, in one line.
    """


def spec(
    default: Any,
    doc: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with its documentation and allowed range.

    Args:
        default: Default value.
        doc: One line saying what the parameter means (shown in docs and errors).
        lo: Smallest allowed value (inclusive unless ``lo_open``), or None.
        hi: Largest allowed value (inclusive), or None.
        lo_open: Whether ``lo`` itself is excluded.
        choices: For strings, the allowed values.
    """
    meta = {"doc": doc, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _allowed(f: dataclasses.Field, kind: str) -> str:
    """Human description of what a field allows, for error messages."""
    m = f.metadata
    if m.get("choices"):
        return "one of " + ", ".join(repr(c) for c in m["choices"])
    lo, hi = m.get("lo"), m.get("hi")
    if lo is None and hi is None:
        return f"a {kind}"
    left = "(" if m.get("lo_open") else "["

    def fmt(v: float) -> str:
        if float(v).is_integer():
            return "2^63-1" if v == 2**63 - 1 else f"{int(v):,}"
        return f"{v:g}"

    lo_s = "-inf" if lo is None else fmt(lo)
    hi_s = "inf" if hi is None else fmt(hi)
    right = ")" if hi is None else "]"
    return f"a {kind} in {left}{lo_s}, {hi_s}{right}"


#: Human names of the value types, for error messages and the ODD parameter table.
_KINDS = {float: "number", int: "whole number", bool: "boolean", str: "string", list: "list"}


class FieldType(typing.NamedTuple):
    """The type of a params field, as validation, the Hydra schema and docs need it."""

    #: The annotation without ``| None``, e.g. ``list[str]`` (the Hydra schema types with it).
    annotation: Any
    #: The plain class, e.g. ``list`` for ``list[str]`` (what values are checked against).
    base: Any
    #: Whether the annotation allows None (``X | None``).
    nullable: bool

    @property
    def kind(self) -> str:
        """Human name of the type, e.g. "whole number"."""
        return _KINDS.get(self.base, getattr(self.base, "__name__", str(self.base)))


@functools.cache
def field_types(cls: type) -> dict[str, FieldType]:
    """The :class:`FieldType` of each field of a params class.

    The one place annotations are unwrapped; cached, because resolving annotations is slow and
    sweeps validate many configs.
    """
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        nullable = False
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = len(args) < len(typing.get_args(annotation))
            if len(args) == 1:
                annotation = args[0]
        out[f.name] = FieldType(annotation, typing.get_origin(annotation) or annotation, nullable)
    return out


class Params:
    """Mixin that validates types and ranges of a dataclass after construction."""

    section: typing.ClassVar[str] = ""

    def __post_init__(self) -> None:
        types_ = field_types(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            key = f"{self.section}.{f.name}" if self.section else f.name
            ft = types_[f.name]
            if value is None:
                if ft.nullable:
                    continue
                raise ConfigError(f"{key} = null: must be {_allowed(f, ft.kind)}")
            if dataclasses.is_dataclass(ft.base):
                continue
            _check_value(key, value, ft, f)
        self.check()

    def check(self) -> None:
        """Cross-field checks; subclasses override."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Params:
        """Build from a plain dict, rejecting unknown keys with a clear message."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for k in data:
            if k not in names:
                where = f"{cls.section}.{k}" if cls.section else k
                raise ConfigError(
                    f"{where}: unknown key; allowed keys here: {', '.join(sorted(names))}"
                )
        return cls(**data)

    def replace(self, **changes: Any) -> Params:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _check_value(key: str, value: Any, ft: FieldType, f: dataclasses.Field) -> None:
    """Check a value's type (strictly: 1 or "yes" is not a boolean) and range."""
    tp, kind = ft.base, ft.kind
    ok = True
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    if not ok:
        also = " (true or false)" if tp is bool else ""
        raise ConfigError(f"{key} = {value!r}: must be {_allowed(f, kind)}{also}")
    if tp in (int, float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r}: must be {_allowed(f, kind)} (not NaN or inf)")
        lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
        too_low = lo is not None and (value <= lo if f.metadata.get("lo_open") else value < lo)
        if too_low or (hi is not None and value > hi):
            raise ConfigError(f"{key} = {value!r}: must be {_allowed(f, kind)}")
    if tp is str and f.metadata.get("choices") and value not in f.metadata["choices"]:
        raise ConfigError(f"{key} = {value!r}: must be {_allowed(f, kind)}")


@dataclass(frozen=True)
class ModelParams(Params):
    """The synthetic society, the organisation's rules and the behavioural constants."""

    section: typing.ClassVar[str] = "model"

    # --- population and sectors (DESIGN §4, §7)
    people: int = spec(10_000, "number of people (members and masses)", 50, 5_000_000)
    member_share: float = spec(
        0.071, "party members as a share of people (2024: 7.1%)", 0, 0.5, lo_open=True
    )
    share_state: float = spec(0.06, "people in state organs and public institutions", 0, 1)
    share_enterprise: float = spec(0.28, "people employed in enterprises", 0, 1)
    share_platform: float = spec(
        0.09, "people in platform / new-form employment (~21% of the employed)", 0, 1
    )
    share_rural: float = spec(
        0.30,
        "people in rural villages (farming households; about a third of China's population)",
        0,
        1,
    )
    retired_share_none: float = spec(
        0.65, "share of the urban people outside work who are retired", 0, 1
    )
    member_odds_state: float = spec(3.3, "relative odds of membership in the state sector", 0, 100)
    member_odds_enterprise: float = spec(0.7, "relative odds of membership in enterprises", 0, 100)
    member_odds_platform: float = spec(
        0.33, "relative odds of membership among platform workers", 0, 100
    )
    member_odds_none: float = spec(1.1, "relative odds of membership outside work", 0, 100)
    member_odds_rural: float = spec(0.8, "relative odds of membership in rural villages", 0, 100)
    member_unit_spread: float = spec(
        2.0,
        "sd of the log of a traditional work unit's own membership density (members cluster "
        "in some units, e.g. state-owned enterprises, and are rare in others; platform "
        "organisations have none)",
        0,
        5,
    )
    new_strata_share: float = spec(
        0.05,
        "people in the new social strata (managers and "
        "professionals of the non-public economy, freelancers)",
        0,
        0.5,
    )
    # --- units, communities, networks
    community_size: int = spec(2000, "mean people per urban residential community", 10, 100_000)
    village_size: int = spec(1000, "mean people per rural village", 10, 100_000)
    unit_size_state: float = spec(60.0, "mean size of a state work unit", 2, 10_000)
    unit_size_enterprise: float = spec(25.0, "mean size of an enterprise", 2, 10_000)
    unit_size_platform: float = spec(300.0, "mean size of a platform organisation", 2, 100_000)
    work_degree: int = spec(6, "work ties a person draws inside a stable unit", 0, 100)
    platform_work_degree: int = spec(
        1, "work ties a platform worker draws inside the platform", 0, 100
    )
    residence_degree: int = spec(6, "neighbour ties a person draws in the community (even)", 0, 100)
    residence_rewire: float = spec(
        0.1, "share of neighbour ties rewired to a random resident", 0, 1
    )
    online_degree: float = spec(4.0, "mean online ties per person", 0, 100)
    online_tail: float = spec(
        2.5, "Pareto exponent of online activity (heavy tail)", 1.5, 10, lo_open=True
    )
    online_platform_boost: float = spec(
        3.0, "online activity of platform workers relative to others", 0, 100
    )
    # --- organisation (party rules; DESIGN §4, §7)
    branch_min_members: int = spec(3, "full members a unit needs for its own branch", 1, 50)
    branch_max_members: int = spec(50, "members above which a branch splits", 3, 1000)
    joint_branch_units: int = spec(20, "most units a joint branch combines", 1, 50)
    communities_per_street: int = spec(6, "communities per street/township committee", 1, 1000)
    levels: int = spec(3, "layers of the hierarchy, branch level included", 2, 8)
    committee_fanout: int = spec(8, "committees grouped under one committee above", 2, 1000)
    departments: int = spec(3, "work departments attached to each committee", 1, 20)
    social_org_rate: float = spec(0.63, "social organisations per 1,000 people (2022)", 0, 100)
    social_org_size: float = spec(30.0, "mean members of a social organisation", 2, 10_000)
    # --- branch capacity and its split (Appendix A: demand and burden)
    hours_base: float = spec(4.0, "hours a week a branch has regardless of size", 0, 1000)
    hours_per_member: float = spec(1.5, "hours a week each member adds to branch capacity", 0, 100)
    base_demand: float = spec(
        2.0,
        "D0: base assessment indicators one work department issues a week at the top committee",
        0,
        1000,
    )
    hours_per_indicator: float = spec(
        0.55,
        "h: hours of branch paperwork one indicator costs "
        "(calibrated: baseline demand about 6 hours a week)",
        0,
        100,
    )
    simplify_share: float = spec(
        0.3,
        "s: share of the demand each layer removes when assessment is simplified downward",
        0,
        1,
    )
    escalation_spread: float = spec(
        0.5,
        "sd of the log of a committee's own margin around policy.escalation (drawn once)",
        0,
        3,
    )
    indicator_overlap: float = spec(
        0.5,
        "omega: share of a department's indicators another department also sets; a unified "
        "table removes this overlap (so it is lighter than separate tables, heavier than one)",
        0,
        0.99,
        lo_open=True,
    )
    outcome_trace_relief: float = spec(
        0.5,
        "share of the trace requirement (records per indicator) that evaluation by outcomes "
        "makes unnecessary",
        0,
        1,
    )
    split_service: float = spec(
        0.5, "weight of service in the free hours not spent on integration", 0, 1
    )
    split_life: float = spec(
        0.5, "weight of organisational life in the free hours not spent on integration", 0, 1
    )
    integration_life: float = spec(
        0.8,
        "quality, as organisational life, of an hour of integrated party-business work",
        0,
        1,
    )
    ritual_quality: float = spec(
        0.4,
        "quality, as organisational life, of an hour of party activity kept apart from the "
        "business (isolated mode, 两张皮: ritual life)",
        0,
        1,
    )
    formalism_level: float = spec(
        0.5, "paperwork share above which a branch's contacts are formalistic", 0, 1
    )
    # --- needs and service (§5.4)
    need_rate: float = spec(0.02, "mean weekly chance a person without a need gets one", 0, 1)
    need_spread: float = spec(
        0.5, "sd of the log of a community's need rate relative to the mean (drawn once)", 0, 3
    )
    need_odds_platform: float = spec(
        2.0, "need rate of platform workers relative to others (urgent problems of gig work)", 0, 20
    )
    private_need_share: float = spec(
        0.5, "share of needs that are private (family, work) rather than public affairs", 0, 1
    )
    service_rate: float = spec(1.0, "service hazard per unit of service effort in reach", 0, 100)
    service_gain: float = spec(0.08, "identification gain a_s of a resolved need", 0, 1)
    formalism_loss: float = spec(0.03, "identification loss a_f of a formalistic contact", 0, 1)
    unmet_need_loss: float = spec(0.001, "weekly identification loss while a need is unmet", 0, 1)
    need_lapse: float = spec(
        0.05, "weekly chance a mass's unmet need resolves or lapses without the party", 0, 1
    )
    # --- enculturation (§5.5)
    susceptibility: float = spec(
        0.6, "Friedkin-Johnsen weight L of social influence per week", 0, 1
    )
    confidence: float = spec(
        0.35, "Deffuant bound epsilon: ties farther apart do not influence", 0, 1
    )
    weight_work: float = spec(1.0, "influence weight of the work layer", 0, 100)
    weight_residence: float = spec(1.0, "influence weight of the residence layer", 0, 100)
    weight_online: float = spec(0.5, "influence weight of the online layer", 0, 100)
    open_pull: float = spec(0.05, "weekly pull of open branch activities at openness 1", 0, 1)
    strata_pull: float = spec(
        0.05,
        "weekly pull of activities suited to the new strata and platform workers on those of "
        "them who meet members, at new_strata_outreach 1",
        0,
        1,
    )
    # --- commitment (§5.6)
    life_gain: float = spec(0.01, "a1: commitment gain from full organisational life", 0, 1)
    life_hours: float = spec(
        1.0, "organisational-life hours per member a week that count as full", 0, 100, lo_open=True
    )
    response_gain: float = spec(
        0.05, "a2: commitment gain when the member's problem is answered", 0, 1
    )
    wait_loss: float = spec(
        0.01, "a3: weekly relative loss of commitment while the member's own problem waits", 0, 1
    )
    overload_loss: float = spec(
        0.01,
        "a4: weekly relative loss of commitment per hour of party work beyond what a member "
        "can carry",
        0,
        1,
    )
    load_capacity: float = spec(
        2.0, "L*: hours of party work a week a member carries without strain", 0, 100
    )
    serve_gain: float = spec(
        0.01, "a6: weekly commitment gain of a member who serves neighbours in the community", 0, 1
    )
    commitment_decay: float = spec(
        0.03, "a0: weekly rate at which commitment returns to the member's own disposition", 0, 1
    )
    floating_loss: float = spec(0.01, "a5: weekly relative loss of commitment while floating", 0, 1)
    dual_share: float = spec(
        0.3,
        "share of a dual-registered member's service hours given in the residential community "
        "(taken from the hours given at the workplace, not added)",
        0,
        1,
    )
    business_feedback: float = spec(
        0.05,
        "weekly change of the commitment of a unit's members and the identification of its "
        "workers per unit of the unit's business performance above (or below) p0",
        0,
        1,
    )
    response_weight_outside: float = spec(
        2.0,
        "weight of an answered problem for members outside the state system (enterprise, platform)",
        0,
        10,
    )
    member_need_rate: float = spec(0.02, "weekly chance a member has a problem of their own", 0, 1)
    engaged_level: float = spec(0.5, "commitment above which a member is engaged (c*)", 0, 1)
    init_identification: float = spec(
        0.45, "mean initial identification of the masses", 0, 1, lo_open=True
    )
    init_member_identification: float = spec(
        0.7, "mean initial identification of members with the party", 0, 1, lo_open=True
    )
    init_commitment: float = spec(
        0.5,
        "mean initial commitment of members, which is also their own disposition (c0)",
        0,
        1,
        lo_open=True,
    )
    init_concentration: float = spec(
        4.0, "concentration of the initial Beta distributions", 0.1, 1000
    )
    # --- mobilization (§5.11)
    crisis_start: int = spec(156, "week a crisis call starts (-1: no call)", -1, 100_000)
    crisis_weeks: int = spec(8, "weeks the call lasts", 1, 1000)
    threshold_mean: float = spec(0.7, "mean mobilization threshold", -1, 2)
    threshold_sd: float = spec(0.2, "spread of mobilization thresholds", 0, 2)
    member_motivation: float = spec(0.25, "extra motivation of members (m_M)", 0, 2)
    peer_weight: float = spec(0.5, "weight w of the active share of neighbours", 0, 5)
    cost_base: float = spec(0.1, "cost k0 of turning out", 0, 2)
    cost_burden: float = spec(0.3, "cost k1 per unit of the member's branch burden", 0, 2)
    org_call: float = spec(
        0.15, "motivation added by a call through a partnered organisation", 0, 2
    )
    rounds_per_week: int = spec(1, "cascade rounds R within one week", 1, 100)
    peer_rule: str = spec(
        "pooled",
        "peer term: active share of ties pooled across layers with the influence weights, "
        "or the largest share on any one layer (multiplex OR rule)",
        choices=("pooled", "or"),
    )
    or_min_active: int = spec(
        2, "active neighbours a layer needs to count under the OR rule", 1, 100
    )
    # --- social change (§5.1; sim/mechanisms/social_change.py)
    platform_shift: float = spec(
        0.01,
        "yearly share of people in stable units (state, "
        "enterprise) who move to the platform sector",
        0,
        0.5,
    )
    social_change_every: int = spec(
        52,
        "weeks between batches of social change (a batch moves "
        "the period's movers at once and rebuilds the network "
        "operators once)",
        1,
        52,
    )
    mover_online_boost: float = spec(
        1.5,
        "online activity of a worker who moves to a platform relative to before (an assumption, "
        "varied in the validation: the new online ties it brings keep movers reachable)",
        0,
        100,
    )
    # --- membership change (§5.9; sim/mechanisms/membership.py)
    retirement_age: int = spec(60, "age at which workers leave their unit and retire", 30, 100)
    membership_every: int = spec(
        13,
        "weeks between batches of retirements and job successions (moves rebuild the network "
        "operators once a batch)",
        1,
        52,
    )
    entry_age: int = spec(
        22, "age from which young people outside work take up the jobs retirement frees", 16, 60
    )
    mortality_base: float = spec(
        3e-5,
        "Gompertz a: yearly death hazard at age 0 (with the slope, about 0.75% a year at 60 and "
        "5% at 80, close to China's 2020 life table)",
        0,
        1,
    )
    mortality_slope: float = spec(0.092, "Gompertz b: growth of the death hazard per year", 0, 1)
    age_tilt: float = spec(
        0.05,
        "rate at which the initial cohorts shrink with age beyond survival (past population "
        "growth; calibrated to China's 2020 census: 54% of people aged 60+ are under 70)",
        0,
        1,
    )
    lapse_weeks: int = spec(
        26,
        "weeks without organisational life after which a member with low commitment may "
        "leave (party constitution: six months)",
        1,
        520,
    )
    lapse_commitment: float = spec(
        0.25, "commitment below which a member without organisational life may leave", 0, 1
    )
    lapse_rate: float = spec(0.001, "weekly chance that a member who may leave does leave", 0, 1)
    # --- recruitment (§5.8; sim/mechanisms/recruitment.py)
    recruit_threshold: float = spec(
        0.2, "x_a: identification above which a mass may apply to join", 0, 1
    )
    apply_rate: float = spec(
        0.000105, "r: weekly application chance per unit of identification above x_a", 0, 1
    )
    youth_odds: float = spec(
        20.0, "relative odds that a person aged 35 or younger applies", 0, 1000
    )
    applicant_dropout: float = spec(0.5, "yearly share of applicants who withdraw", 0, 1)
    activist_dropout: float = spec(0.1, "yearly share of activists who drop out", 0, 1)
    activist_rate: float = spec(
        0.095, "activists a branch takes on a year per hour a week of organisational life", 0, 10
    )
    develop_rate: float = spec(
        0.056,
        "activists a branch develops into probationary members a "
        "year per hour a week of organisational life",
        0,
        10,
    )
    activist_weeks: int = spec(
        26, "least weeks as an activist before development (party rules: half a year)", 0, 520
    )
    probation_weeks: int = spec(
        52, "weeks on probation before full membership (party rules: one year)", 1, 520
    )
    meeting_every: int = spec(
        4,
        "weeks between the branch committee meetings that take on "
        "activists and develop members (monthly)",
        1,
        52,
    )
    outreach_base: float = spec(
        0.3,
        "application and selection chance of new strata and "
        "platform workers relative to others, without outreach",
        0,
        1,
    )
    # --- social organisations (§5.10; sim/mechanisms/social_orgs.py)
    org_relay: float = spec(
        0.5,
        "share of its engaged members' service hours a partnered "
        "organisation relays to its other members (all if it hosts a "
        "branch)",
        0,
        1,
    )
    # --- sensing (§5.3)
    sensing_noise: float = spec(
        0.05, "sd of the noise in a branch's report of the need it sees", 0, 1
    )
    sensing_delay: int = spec(2, "weeks a report takes to cross one layer of the hierarchy", 0, 52)
    belief_rate: float = spec(
        0.2,
        "weight of this week's news in a committee's belief about a branch (a branch that "
        "reports nothing drifts toward the committee's mean: its picture goes stale)",
        0,
        1,
        lo_open=True,
    )
    support_hours: float = spec(
        0.4,
        "support hours a week the committees hand out per branch member",
        0,
        100,
    )
    support_equal_share: float = spec(
        0.3,
        "share of the support hours handed out equally per member; the rest follows the "
        "need the committees perceive",
        0,
        1,
    )
    # --- party-business integration (§5.7)
    business_base: float = spec(0.5, "p0: business performance index without integration", 0, 1)
    business_lift: float = spec(0.8, "b1: linear gain of integrated effort", 0, 10, lo_open=True)
    business_curvature: float = spec(
        1.0, "b2: quadratic loss of integrated effort (b1 < 2 b2)", 0, 10, lo_open=True
    )
    business_displacement: float = spec(
        0.3, "b3: loss per unit of effort when party work replaces business (generalized)", 0, 10
    )
    business_noise: float = spec(0.02, "sd of the noise in observed business performance", 0, 1)
    effort_spread: float = spec(
        0.05, "sd of branches' initial integration effort around the policy value", 0, 1
    )
    code_learning: float = spec(
        0.2,
        "p2: weekly rate at which the code learns from "
        "better-performing branches (outcome evaluation)",
        0,
        1,
    )
    socialisation: float = spec(
        0.05, "p1: weekly rate at which branches adopt the code (outcome evaluation)", 0, 1
    )
    exploration: float = spec(
        0.03, "sd of a branch's weekly trial-and-error in its effort (outcome evaluation)", 0, 1
    )

    def check(self) -> None:
        total = self.share_state + self.share_enterprise + self.share_platform + self.share_rural
        if total > 1 + 1e-9:
            raise ConfigError(
                f"model.share_state + share_enterprise + share_platform + share_rural = "
                f"{total:g}: must be at most 1"
            )
        split = self.split_service + self.split_life
        if abs(split - 1) > 1e-6:
            raise ConfigError(f"model.split_service + split_life = {split:g}: must be 1")
        if self.business_lift >= 2 * self.business_curvature:
            raise ConfigError(
                f"model.business_lift = {self.business_lift:g}: must be below 2 * "
                f"model.business_curvature ({2 * self.business_curvature:g}) so that the "
                "integrated performance peaks inside (0, 1)"
            )
        if self.branch_max_members < self.branch_min_members:
            raise ConfigError(
                f"model.branch_max_members = {self.branch_max_members}: must be at least "
                f"model.branch_min_members ({self.branch_min_members})"
            )


@dataclass(frozen=True)
class PolicyParams(Params):
    """Policy levers (the four dimensions of the paper); each in [0, 1] unless said otherwise.

    The headline levers ``coverage``, ``embedding`` and ``openness`` are what the default
    experiment varies. Their meaning:

    * ``coverage`` (boundaryless coverage, paper 2.1): the chance that a small traditional unit
      (state or enterprise, too few members for a branch of its own) is brought into a joint
      branch. Its sub-levers ``platform_coverage`` (platform organisations get a branch) and
      ``online_branches`` (share of members left without any branch that an online branch takes
      in) take its value when unset.
    * ``embedding`` (localized embedding, paper 2.2): the share of in-unit members registered in
      their residential community (dual registration), who therefore also serve neighbours.
    * ``openness`` (open party building, paper 4): how far branch activities are open to the
      masses, service reaches private needs, and social organisations are partners. Its
      sub-levers ``new_strata_outreach``, ``social_org_partnership``, ``open_activities`` and
      ``care_service`` take its value when unset (:meth:`lever` resolves them).
    """

    section: typing.ClassVar[str] = "policy"

    name: str = spec("baseline", "name of the policy package (the scenario label)")
    coverage: float = spec(
        0.5,
        "boundaryless coverage: chance that a small traditional unit is "
        "brought into a joint branch (headline lever of platform_coverage "
        "and online_branches)",
        0,
        1,
    )
    embedding: float = spec(
        0.2, "share of in-unit members dual-registered in their community", 0, 1
    )
    openness: float = spec(
        0.3, "openness of branch work to the masses and social organisations", 0, 1
    )
    mutual_recognition: bool = spec(
        False, "organisational life on either side counts once for dual-registered members"
    )
    responsiveness: float = spec(
        0.3, "weekly chance a member's own problem is answered through the party channel", 0, 1
    )
    # --- foundation dimension in depth (paper 2): null takes policy.coverage
    platform_coverage: float | None = spec(
        None, "chance that a platform organisation gets a branch (null: policy.coverage)", 0, 1
    )
    online_branches: float | None = spec(
        None,
        "share of otherwise unattached members an online branch takes in (null: policy.coverage)",
        0,
        1,
    )
    # --- openness dimension in depth (paper 4): null takes policy.openness
    new_strata_outreach: float | None = spec(
        None,
        "outreach to new strata and platform workers in recruitment (null: policy.openness)",
        0,
        1,
    )
    social_org_partnership: float | None = spec(
        None, "share of social organisations partnered with the party (null: policy.openness)", 0, 1
    )
    open_activities: float | None = spec(
        None, "how far branch activities are open to the masses (null: policy.openness)", 0, 1
    )
    care_service: float | None = spec(
        None,
        "how far service reaches private needs, not only public affairs (null: policy.openness)",
        0,
        1,
    )

    #: Sub-lever -> the headline lever whose value it takes when left unset (null).
    LEVER_PARENTS: typing.ClassVar[dict[str, str]] = {
        "platform_coverage": "coverage",
        "online_branches": "coverage",
        "new_strata_outreach": "openness",
        "social_org_partnership": "openness",
        "open_activities": "openness",
        "care_service": "openness",
    }

    def lever(self, name: str) -> float:
        """The effective value of a lever: a sub-lever left unset takes its headline lever's.

        Args:
            name: a field name, e.g. ``"care_service"`` or ``"coverage"``.
        """
        value = getattr(self, name)
        if value is None:
            value = getattr(self, self.LEVER_PARENTS[name])
        return float(value)

    # --- subject dimension: the hierarchy's assessment and sensing (paper 1; DESIGN §5.2-5.3)
    escalation: float = spec(
        0.1, "margin each layer adds to the assessment it passes down (层层加码)", 0, 10
    )
    unified_table: bool = spec(
        False, "one unified assessment table instead of one per work department (一表统管)"
    )
    simplify_downward: bool = spec(
        False,
        "each layer simplifies the assessment it passes down "
        "instead of adding to it (越往下考核越简化)",
    )
    trace_requirement: float = spec(
        0.5,
        "documentation each indicator must leave behind, as a share of the indicator (留痕)",
        0,
        10,
    )
    sensing_fidelity: float = spec(
        0.8,
        "share of a report's information that survives one layer (Williamson control loss)",
        0,
        1,
        lo_open=True,
    )
    # --- integration dimension: party work and business (paper 3; DESIGN §5.7)
    fusion_mode: str = spec(
        "isolated",
        "how party work relates to the unit's business",
        choices=("narrowed", "isolated", "integrated", "generalized"),
    )
    integration_effort: float = spec(
        0.2, "B: share of a branch's free hours meant for work with the unit's business", 0, 1
    )
    evaluation: str = spec(
        "traces",
        "what the assessment looks at: records (traces) or results (outcomes)",
        choices=("traces", "outcomes"),
    )


@dataclass(frozen=True)
class RunParams(Params):
    """How long to run."""

    section: typing.ClassVar[str] = "run"

    steps: int = spec(260, "weeks to simulate (260 = five years)", 1, 100_000)


@dataclass(frozen=True)
class ExperimentParams(Params):
    """What the experiment runner sweeps and draws (read by ``experiments/``, not the model)."""

    section: typing.ClassVar[str] = "experiment"

    name: str = spec("default", "experiment name; results go to outputs/<name>/")
    description: str = spec("", "one line on the question the experiment answers")
    policies: list[str] = spec(["baseline"], "policy packages compared")
    seeds: int = spec(5, "replicates per scenario", 1, 10_000)
    figure: str = spec("scenario_bars", "figure the experiment draws")
    design: dict[str, Any] = spec(
        {}, "a sampling design over parameter ranges (see experiments/design.py); {} = grid only"
    )


@dataclass(frozen=True)
class Config(Params):
    """The whole validated configuration of one run."""

    seed: int = spec(0, "root seed of every random draw", 0, 2**63 - 1)
    model: ModelParams = field(default_factory=ModelParams)
    policy: PolicyParams = field(default_factory=PolicyParams)
    run: RunParams = field(default_factory=RunParams)
    experiment: ExperimentParams = field(default_factory=ExperimentParams)

    @property
    def scenario(self) -> str:
        """The scenario label: the policy package's name."""
        return self.policy.name

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Build and validate a config from nested plain dicts."""
        data = dict(data)
        parts = {
            "model": ModelParams,
            "policy": PolicyParams,
            "run": RunParams,
            "experiment": ExperimentParams,
        }
        for key, sub in parts.items():
            if key in data and isinstance(data[key], dict):
                data[key] = sub.from_dict(data[key])
        return super().from_dict.__func__(cls, data)  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (for provenance)."""
        return dataclasses.asdict(self)


def describe(cls: type) -> list[tuple[str, str, str, str]]:
    """(key, default, allowed, doc) of each parameter: the source of the ODD parameter table."""
    rows = []
    types_ = field_types(cls)
    for f in dataclasses.fields(cls):
        ft = types_[f.name]
        if dataclasses.is_dataclass(ft.base):
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append(
            (
                f"{cls.section}.{f.name}".strip("."),
                repr(default),
                _allowed(f, ft.kind),
                f.metadata.get("doc", ""),
            )
        )
    return rows
