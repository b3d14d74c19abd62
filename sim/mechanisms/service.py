"""Service and image: members reach people with needs on the layers open to them (DESIGN §5.4).

Paper 1.3 calls the grassroots branch the party's "image output terminal" and 4.3 asks for care
and service for the masses. Needs (急难愁盼) arise at each person's own rate (communities
differ; platform workers have more) and end without the party at ``model.need_lapse`` a week.
The branch's service hours (its own, after paperwork and integration work, plus the support the
committees allocated, §5.3) are shared among its engaged members; a branch without an engaged
member goes through the motions, its members giving the hours as formalistic contacts, so no
hour goes undelivered. Each member spends its share on the layer
where the branch lives (work for unit and joint branches, residence for community branches,
online for platform and online branches). A dual-registered member gives a share
``model.dual_share`` of those same hours in the residential community instead (the hours move,
they are not added). A member's hours are spread evenly over its ties on a layer, so the
pressure on a person ``j`` is

    s_j = sum over layers l, members i tied to j on l of  h_il / deg_l(i).

A need of ``j`` is resolved this week with probability ``1 - exp(-k s_j)``; a resolved need
raises identification by ``a_s (1 - x_j)``. Contacts from a formalistic branch (paperwork share
above ``formalism_level``) resolve nothing and lower identification by ``a_f x_j``. Private
needs (family, work) are answered only as far as care service (openness) reaches them. A mass
judges the party as a whole from the members it meets: the mean identification of the members
met is recorded for open activities (§5.5).

Coverage (DESIGN §6): a mass tied, on a layer open to the member, to a member with a branch is
inside some branch's constituency (``covered``); a mass reached by real service keeps counting
as effectively covered for ``COVERAGE_WEEKS`` weeks (``last_reached``).

Pressure is computed from the members' rows of each layer (transposed), so the cost scales with
the members' ties, not with the whole network.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.mechanisms.social_orgs import OrgBridge
from sim.params import ModelParams, PolicyParams
from sim.state import (
    COMMUNITY,
    JOINT,
    ONLINE,
    PLATFORM_BRANCH,
    UNIT,
    Branches,
    Events,
    People,
    State,
    at_branch,
)


class MemberReach:
    """Delivers per-member quantities to everyone tied to the member, layer by layer.

    Args:
        layers: the network layers by name.
        member_ids: sorted ids of the current members (refresh when membership changes).
    """

    def __init__(self, layers: dict[str, sp.csr_array], member_ids: np.ndarray):
        self.layers = layers
        self.degree = {k: np.diff(a.indptr).astype(float) for k, a in layers.items()}
        self.refresh(member_ids)

    def refresh(self, member_ids: np.ndarray) -> None:
        """Cache the members' rows of every layer, transposed (N x members, CSC)."""
        self.ids = np.asarray(member_ids)
        self.out = {k: a[self.ids].T for k, a in self.layers.items()}

    def deliver(self, per_layer: dict[str, np.ndarray]) -> np.ndarray:
        """Sum over layers of A_l[:, members] @ (V_l / deg_l(member)).

        Args:
            per_layer: for each layer, an (members x k) array of what each member sends.

        Returns:
            An (N x k) array of what each person receives.
        """
        total = None
        for name, values in per_layer.items():
            deg = self.degree[name][self.ids]
            spread = np.divide(
                values, deg[:, None], out=np.zeros_like(values), where=deg[:, None] > 0
            )
            got = self.out[name] @ spread
            total = got if total is None else total + got
        return total


def resolve_needs(
    need: np.ndarray,
    private: np.ndarray,
    pressure: np.ndarray,
    rate: float,
    care: float,
    u: np.ndarray,
) -> np.ndarray:
    """Which needs are resolved: hazard ``1 - exp(-rate * pressure)``, private ones x care."""
    p = -np.expm1(-rate * pressure)
    p = np.where(private, p * care, p)
    return need & (u < p)


def image_update(
    x: np.ndarray, served: np.ndarray, formal_contact: np.ndarray, gain: float, loss: float
) -> np.ndarray:
    """Identification after resolved needs (up) and formalistic contacts (down)."""
    up = (gain * served).astype(x.dtype)
    down = (loss * formal_contact).astype(x.dtype)
    x = x + up * (1 - x)
    return x - down * x


def member_layers(kind: np.ndarray, dual: np.ndarray) -> dict[str, np.ndarray]:
    """Per member, the layers it reaches people on: its branch kind's, and residence if dual.

    Work for unit and joint branches, residence for community branches (and for members
    dual-registered in their community), online for platform and online branches.
    """
    return {
        "work": (kind == UNIT) | (kind == JOINT),
        "residence": (kind == COMMUNITY) | dual,
        "online": (kind == PLATFORM_BRANCH) | (kind == ONLINE),
    }


def member_sending(
    people: People, b: Branches, p: ModelParams, ids: np.ndarray
) -> dict[str, np.ndarray]:
    """What each member sends on each layer: real hours, formal hours, hours x view, presence.

    Args:
        people: the people (their branches, dual registration, commitment, identification).
        b: the branches (their service and support hours, members, burden and kind).
        p: model parameters.
        ids: the members, in the order of the reach operator.

    Returns:
        Per layer, a (members x 4) array: real service hours, formalistic hours, hours times
        the member's identification, and 1 for a member with a branch (for coverage). Every
        service and support hour of a branch with members is sent by someone.
    """
    hb = people.home_branch[ids]
    has = hb >= 0
    engaged = has & (people.commitment[ids] > p.engaged_level)
    # the branch's service hours are given by its engaged members; a branch without any goes
    # through the motions: its members give the hours as formalistic contacts (no hour is lost)
    n_engaged = np.bincount(hb[engaged], minlength=b.n).astype(float)
    none_engaged = at_branch(n_engaged, hb) == 0
    doers = np.where(none_engaged, at_branch(b.members, hb), at_branch(n_engaged, hb))
    gives = has & (engaged | none_engaged)
    hours = at_branch(b.service + b.support, hb)
    hours = np.divide(hours, doers, out=np.zeros(ids.size), where=doers > 0) * gives
    formal = (at_branch(b.burden, hb) > p.formalism_level) | none_engaged
    dual = people.dual_registered[ids] & has
    on = member_layers(at_branch(b.kind, hb, -1), dual)
    home_layer = member_layers(at_branch(b.kind, hb, -1), np.zeros(ids.size, bool))
    # a dual-registered member moves a share of its hours to the community (unless the
    # branch already lives there)
    moved = np.where(dual & ~home_layer["residence"], p.dual_share, 0.0) * hours
    view = people.identification[ids]
    present = has.astype(float)
    sending = {}
    for layer, mask in on.items():
        if layer == "residence":
            h = np.where(home_layer["residence"], hours, moved)
        else:
            h = (hours - moved) * home_layer[layer]
        real, form = h * ~formal, h * formal
        sending[layer] = np.column_stack([real, form, (real + form) * view, present * mask])
    return sending


def step(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    rng: np.random.Generator,
    week: int,
    reach: MemberReach,
    bridge: OrgBridge,
) -> Events:
    """Needs arise; members' service resolves some; formalism and neglect cost trust.

    Partnered social organisations relay what their members send (``bridge``, §5.10).
    """
    people = state.people
    n = people.n
    mass = ~people.member
    u = rng.random((3, n), dtype=np.float32)
    fresh = mass & ~people.need & (u[0] < people.need_rate)  # members: own problems in §5.6
    people.need |= fresh
    # a new need's kind (private or public) reuses the uniform that created it
    people.private_need = np.where(
        fresh, u[0] < people.need_rate * p.private_need_share, people.private_need
    )
    sending = member_sending(people, state.branches, p, reach.ids)
    got = reach.deliver(sending)
    bridge.add_to(got, reach.ids, sending)
    real, formal, view_sum = got[:, 0], got[:, 1], got[:, 2]
    served = resolve_needs(
        people.need & mass,
        people.private_need,
        real,
        p.service_rate,
        policy.lever("care_service"),
        u[1],
    )
    formal_contact = mass & (u[2] < -np.expm1(-p.service_rate * formal))
    unmet = mass & people.need & ~served
    keep = np.float32(1.0) - np.float32(p.unmet_need_loss) * unmet
    for arr in (people.identification, people.anchor):  # experience moves the anchor too
        arr[:] = image_update(arr, served, formal_contact, p.service_gain, p.formalism_loss)
        arr *= keep
    people.need &= ~served
    # needs also end without the party (solved elsewhere, or given up): no trust gained
    people.need &= ~(mass & (u[0] > 1.0 - p.need_lapse))
    people.reached = mass & (real > 0)
    people.last_reached[people.reached] = week
    people.covered = mass & (got[:, 3] > 0)
    total = real + formal
    people.met = total > 0
    people.met_view = np.divide(view_sum, total, out=np.zeros(n), where=people.met)
    return Events()
