"""The model's mutable state: people, units, branches, network, hierarchy (DESIGN §3-§4).

Every array a mechanism reads or writes lives on one of these slotted dataclasses, and nowhere
else: the world builder (:mod:`sim.world`) produces the initial :class:`State`, the model owns
it, and mechanisms (:mod:`sim.mechanisms`) read and write its arrays. Per-person arrays are
indexed by person id, per-branch arrays by branch id, per-unit arrays by unit id.

Two things change the *shape* of the state during a run, and each happens in one place:

* :meth:`Branches.grow` appends branches: every per-branch array gets its new rows there;
* :meth:`Network.set_layer` replaces a layer of ties and bumps :attr:`Network.version`, which
  tells the model to rebuild the sparse operators it derives from the network.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numba
import numpy as np
import scipy.sparse as sp

# sectors
STATE, ENTERPRISE, PLATFORM, NONE, RURAL = 0, 1, 2, 3, 4
SECTORS = ("state", "enterprise", "platform", "none", "rural")
# branch kinds
UNIT, JOINT, PLATFORM_BRANCH, COMMUNITY, ONLINE = 0, 1, 2, 3, 4
BRANCH_KINDS = ("unit", "joint", "platform", "community", "online")
# network layers, in the order mechanisms loop over them
LAYERS = ("work", "residence", "online")
# recruitment stages (DESIGN §5.8)
NO_STAGE, APPLICANT, ACTIVIST, PROBATIONARY = 0, 1, 2, 3
STAGES = ("none", "applicant", "activist", "probationary")
#: Weeks in the rolling window of the recruitment outcomes.
RECRUIT_WINDOW = 52
#: A member's problem counts as answered in time within this many weeks (outcome answered_share).
ANSWER_WEEKS = 4
#: Weeks of problem cohorts kept for answered_share (longer than a year plus ANSWER_WEEKS).
PROBLEM_RING = 64
#: Weeks a contact keeps a mass counted as effectively covered (outcome effective_coverage).
COVERAGE_WEEKS = 13
#: "Never" for week stamps.
NEVER = -(10**6)


def at_branch(values: np.ndarray, branch: np.ndarray, default: float | int = 0) -> np.ndarray:
    """``values[branch]``, with ``default`` where ``branch`` is -1 (also when there is no branch).

    Padding the per-branch array with the default lets -1 index it, so code stays the same
    for a world without any branch. Works the same for any per-group array indexed by a group
    id that may be -1 (e.g. per-unit arrays by ``people.unit``).
    """
    return np.append(values, np.asarray(default, dtype=values.dtype))[branch]


@dataclass(slots=True)
class People:
    """Per-person arrays (index = person id)."""

    # who they are and where they live and work
    sector: np.ndarray  #: int8, one of STATE..RURAL (changes when people move or retire)
    unit: np.ndarray  #: int32, work unit or -1
    community: np.ndarray  #: int32, residential community
    retired: np.ndarray  #: bool
    new_strata: np.ndarray  #: bool, new social stratum
    age: np.ndarray  #: uint8, years
    member: np.ndarray  #: bool, party member
    home_branch: np.ndarray  #: int32, branch of a member, -1 (mass, or floating member)
    dual_registered: np.ndarray  #: bool, registered in the residential community too
    # dynamic state, filled by the model's initialisation (sim.world.initialise)
    identification: np.ndarray = field(default=None)  #: float32, trust in the party (everyone)
    anchor: np.ndarray = field(default=None)  #: float32, Friedkin-Johnsen anchor of identification
    commitment: np.ndarray = field(default=None)  #: float32, willingness to do party work (members)
    disposition: np.ndarray = field(default=None)  #: float32, a member's own level of commitment
    need: np.ndarray = field(default=None)  #: bool, an unmet problem (急难愁盼)
    private_need: np.ndarray = field(default=None)  #: bool, the need is private, not public
    need_since: np.ndarray = field(default=None)  #: int32, week the current need arose
    need_rate: np.ndarray = field(default=None)  #: float32, weekly chance a need arises
    threshold: np.ndarray = field(default=None)  #: float, mobilization threshold
    active: np.ndarray = field(default=None)  #: bool, turned out in the current call
    reached: np.ndarray = field(default=None)  #: bool, real service reached them this week
    last_reached: np.ndarray = field(default=None)  #: int32, last week real service reached them
    met: np.ndarray = field(default=None)  #: bool, met a member this week (real or formal)
    met_view: np.ndarray = field(default=None)  #: float, mean identification of members met
    covered: np.ndarray = field(default=None)  #: bool, inside some branch's constituency
    out_of_system: np.ndarray = field(default=None)  #: bool, enterprise or platform worker
    partnered: np.ndarray = field(default=None)  #: bool, belongs to a partnered social org
    stage: np.ndarray = field(default=None)  #: int8, recruitment stage (NO_STAGE..PROBATIONARY)
    since: np.ndarray = field(default=None)  #: int32, week the current stage began
    birthday: np.ndarray = field(default=None)  #: int8, week of the year a person ages
    life_week: np.ndarray = field(default=None)  #: int32, last week a member had org. life
    moved: int = 0  #: people moved to platform work so far (sectors change with it)
    version: int = 0  #: changes when sectors, ages or strata change (cached weights follow)

    @property
    def n(self) -> int:
        return int(self.sector.size)

    def member_ids(self) -> np.ndarray:
        """Sorted ids of the current members (``np.flatnonzero(member)``, compiled)."""
        return true_positions(self.member)

    def new_groups(self) -> np.ndarray:
        """Whether each person belongs to the new strata or works on a platform (paper 4.1)."""
        return self.new_strata | (self.sector == PLATFORM)


@dataclass(slots=True)
class Units:
    """Per work unit arrays (index = unit id)."""

    sector: np.ndarray  #: int8
    community: np.ndarray  #: int32, the community the unit sits in
    staff: np.ndarray = field(default=None)  #: int64, people working there now
    branch: np.ndarray = field(default=None)  #: int32, its (first) own or joint branch, or -1
    #: uniform draw deciding whether coverage work reaches the unit (kept, so a unit that later
    #: loses its own branch meets the same draw: common random numbers)
    cover_draw: np.ndarray = field(default=None)
    performance: np.ndarray = field(default=None)  #: float, business performance index

    @property
    def n(self) -> int:
        return int(self.sector.size)


#: Per-branch arrays and the value new rows take in :meth:`Branches.grow` (None: given by the
#: caller). ``effort`` is special: new branches adopt the organisation's code.
_BRANCH_ROWS: dict[str, tuple[type, float | None]] = {
    "kind": (np.int8, None),
    "community": (np.int32, None),
    "committee": (np.int32, None),
    "unit": (np.int32, -1),
    "members": (float, 0.0),
    "capacity": (float, 0.0),
    "demand": (float, 0.0),
    "burden": (float, 0.0),
    "paperwork": (float, 0.0),
    "service": (float, 0.0),
    "life": (float, 0.0),
    "joint": (float, 0.0),
    "free": (float, 0.0),
    "effort": (float, None),
    "support": (float, 0.0),
    "belief": (float, np.nan),
    "preconception": (float, np.nan),
    "true_need": (float, np.nan),
    "reporting": (bool, False),
    "credit_activist": (float, 0.0),
    "credit_develop": (float, 0.0),
}


def _empty_rows(name: str) -> np.ndarray:
    return np.zeros(0, _BRANCH_ROWS[name][0])


def _branch_field(name: str, doc: str):
    return field(default_factory=lambda: _empty_rows(name), metadata={"doc": doc})


@dataclass(slots=True)
class Branches:
    """Per-branch arrays (index = branch id). A dissolved branch keeps its row, empty."""

    kind: np.ndarray = _branch_field("kind", "int8, one of UNIT..ONLINE")
    community: np.ndarray = _branch_field("community", "int32, where the branch sits")
    committee: np.ndarray = _branch_field("committee", "int32, the committee that leads it")
    unit: np.ndarray = _branch_field("unit", "int32, the unit whose own branch it is, else -1")
    members: np.ndarray = _branch_field("members", "full members (float, for weighting)")
    capacity: np.ndarray = _branch_field("capacity", "hours a week (set each week from members)")
    demand: np.ndarray = _branch_field("demand", "assessment indicators reaching it a week")
    burden: np.ndarray = _branch_field("burden", "paperwork share of capacity")
    paperwork: np.ndarray = _branch_field("paperwork", "hours of paperwork this week")
    service: np.ndarray = _branch_field("service", "hours of its own service this week")
    life: np.ndarray = _branch_field("life", "hours of ordinary organisational life this week")
    joint: np.ndarray = _branch_field("joint", "hours of integration work (J_b) this week")
    free: np.ndarray = _branch_field("free", "share of capacity the assessment leaves free")
    effort: np.ndarray = _branch_field("effort", "B_b, share of free hours for integration")
    support: np.ndarray = _branch_field("support", "support hours the committees allocated")
    belief: np.ndarray = _branch_field("belief", "its committee's picture of its need")
    preconception: np.ndarray = _branch_field(
        "preconception", "what the committees think of it without news (drawn once)"
    )
    true_need: np.ndarray = _branch_field("true_need", "mean need in the constituency (NaN: none)")
    reporting: np.ndarray = _branch_field("reporting", "has an engaged member who reports")
    credit_activist: np.ndarray = _branch_field("credit_activist", "slots to take on activists")
    credit_develop: np.ndarray = _branch_field("credit_develop", "slots to develop activists")
    #: the organisation's code: the integration effort it prescribes (new branches adopt it)
    code: float = 0.0

    @property
    def n(self) -> int:
        return int(self.kind.size)

    def grow(
        self,
        kind: int | np.ndarray,
        community: np.ndarray,
        committee: np.ndarray,
        unit: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append branches; every per-branch array gets its new rows here. Returns their ids.

        Args:
            kind: Kind of each new branch (or one kind for all).
            community: Community of each new branch.
            committee: Committee that leads each new branch.
            unit: Unit whose own branch each is (default -1: none).
        """
        community = np.asarray(community, np.int32)
        old, k = self.n, community.size
        if k == 0:
            return np.empty(0, np.int64)
        given = {
            "kind": np.broadcast_to(np.asarray(kind, np.int8), (k,)),
            "community": community,
            "committee": np.asarray(committee, np.int32),
            "effort": np.full(k, self.code),
        }
        if unit is not None:
            given["unit"] = np.asarray(unit, np.int32)
        for name, (dtype, pad) in _BRANCH_ROWS.items():
            rows = given[name] if name in given else np.full(k, pad, dtype)
            setattr(self, name, np.concatenate([getattr(self, name), rows.astype(dtype)]))
        return np.arange(old, old + k, dtype=np.int64)

    def recount(self, people: People) -> None:
        """Full members of every branch (the only place they are counted).

        Capacity follows at the start of each week (:mod:`sim.mechanisms.assessment`), so a
        week's hours add up to that week's capacity.
        """
        self.members = np.zeros(self.n)
        if _count_members(people.home_branch, people.member, self.members):
            raise ValueError(f"members of branches beyond the {self.n} branches there are")

    def rows(self) -> dict[str, np.ndarray]:
        """Every per-branch array by name (for checks and tests)."""
        return {name: getattr(self, name) for name in _BRANCH_ROWS}


def true_positions(mask: np.ndarray) -> np.ndarray:
    """``np.flatnonzero(mask)`` of a boolean vector (int64), a few times faster.

    Called several times a week on the members mask; numpy's version counts and then
    collects, this collects in one pass without branches.
    """
    out = np.empty(mask.size, np.int64)  # pages past the last position written are never touched
    return out[: _true_positions(mask.view(np.uint8), out)].copy()


@numba.njit(cache=True, nogil=True)
def _true_positions(mask, out):  # pragma: no cover - compiled
    """Write the positions of the nonzero bytes of ``mask`` to ``out``; return their count."""
    k = 0
    for i in range(mask.size):
        out[k] = i  # written every time, kept when the byte is set
        k += mask[i] != 0
    return k


@numba.njit(cache=True, nogil=True)
def _count_members(home_branch, member, counts):  # pragma: no cover - compiled
    """``counts[b] += 1`` for each member whose home branch is ``b`` (none: -1, not counted).

    Returns the number of members whose branch is past the end of ``counts`` (a broken state:
    the caller raises), which are not counted."""
    outside = 0
    for i in range(member.size):
        b = home_branch[i]
        if member[i] and b >= 0:
            if b < counts.size:
                counts[b] += 1.0
            else:
                outside += 1
    return outside


@dataclass(slots=True)
class Network:
    """The three layers of ties (symmetric binary CSR) and each person's online activity."""

    layers: dict[str, sp.csr_array]
    online_activity: np.ndarray  #: Chung-Lu weight of each person on the online layer
    version: int = 0  #: changes whenever ties change (the model rebuilds its operators)
    #: the last changes: (version after the change, the people whose ties changed, or None
    #: when not known), so operators can rebuild only the rows that changed
    changes: list = field(default_factory=list)

    def set_layer(self, name: str, adjacency: sp.csr_array, rows: np.ndarray | None = None) -> None:
        """Replace one layer's ties and bump the version.

        Args:
            name: the layer.
            adjacency: its new ties.
            rows: the people whose ties changed (None: not known, anyone's may have).
        """
        self.layers[name] = adjacency
        self.version += 1
        self.changes = [*self.changes[-63:], (self.version, rows)]

    def rows_changed_since(self, version: int) -> np.ndarray | None:
        """The people whose ties changed after ``version`` (sorted), or None if not known."""
        if version == self.version:
            return np.empty(0, np.int64)
        later = [rows for v, rows in self.changes if v > version]
        if len(later) != self.version - version or any(rows is None for rows in later):
            return None  # a change not recorded (too old, or without its rows)
        return np.unique(np.concatenate(later).astype(np.int64))


@dataclass(slots=True)
class Hierarchy:
    """Committees in levels (0 = top), their work departments, and what they know."""

    committee_level: np.ndarray
    committee_parent: np.ndarray
    department_committee: np.ndarray
    department_kind: np.ndarray
    street_of_community: np.ndarray  #: the lowest committee of each community
    #: per community, whether it is a village (its community branches are village branches)
    rural: np.ndarray = field(default=None)
    #: per community, its first community branch (-1 if none)
    community_branch: np.ndarray = field(default=None)
    #: per committee, its own escalation margin e_l (drawn once around policy.escalation)
    margin: np.ndarray = field(default=None)
    #: per committee, its parent's belief about the need under it, and its parent's
    #: preconception of it (the top committee's are unused)
    belief: np.ndarray = field(default=None)
    preconception: np.ndarray = field(default=None)
    #: branches' reports travelling to their committees, oldest first (arrays over branches)
    reports: deque = field(default_factory=deque)
    #: committees' reports travelling to the committees above, oldest first
    committee_reports: deque = field(default_factory=deque)
    sensing_error: float = 0.0  #: this week's mean error of the picture (sim.mechanisms.sensing)

    @property
    def depth(self) -> int:
        """Layers between the top committee and the branches."""
        return int(self.committee_level.max()) + 1 if self.committee_level.size else 1


@dataclass(slots=True)
class SocialOrgs:
    """Registered social organisations: membership and partnership with the party."""

    members: sp.csr_array  #: people x organisations, binary
    community: np.ndarray  #: int32, the community most members come from
    partnered: np.ndarray = field(default=None)  #: bool per organisation

    @property
    def n(self) -> int:
        return int(self.community.size)


@dataclass(slots=True)
class Tally:
    """Running counts behind the recruitment outcomes."""

    #: recruits per week over the last RECRUIT_WINDOW weeks: all, new strata or platform, young
    window: np.ndarray = field(default_factory=lambda: np.zeros((3, RECRUIT_WINDOW), np.int64))
    totals: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))
    recruits: int = 0  #: full members admitted this week
    exits: int = 0  #: members who left this week (deaths and lapses)
    deaths: int = 0  #: members who died this week
    dissolved: int = 0  #: unit branches dissolved so far
    #: members' own problems that arose, and of those the ones answered within ANSWER_WEEKS, by
    #: week of arising (a ring of PROBLEM_RING weeks)
    arisen: np.ndarray = field(default_factory=lambda: np.zeros(PROBLEM_RING, np.int64))
    answered_fast: np.ndarray = field(default_factory=lambda: np.zeros(PROBLEM_RING, np.int64))


@dataclass(slots=True)
class State:
    """Everything that changes during a run, in one place."""

    people: People
    units: Units
    branches: Branches
    network: Network
    hierarchy: Hierarchy
    orgs: SocialOrgs
    tally: Tally = field(default_factory=Tally)

    def copy(self) -> State:
        """A deep copy (for tests and for comparing a state before and after a step)."""
        import copy

        return copy.deepcopy(self)


@dataclass(slots=True)
class Events:
    """What a mechanism's step did that the model must act on (Mesa agents, operators)."""

    opened: int = 0  #: branches appended this step
    admitted: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  #: new members
    exited: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  #: members who left
    ties_changed: bool = False  #: the network's ties changed
    detail: dict = field(default_factory=dict)  #: what the step did, for tests and diagnostics
