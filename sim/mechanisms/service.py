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

Pressure is computed from the members' rows of each layer, so the cost scales with the members'
ties, not with the whole network.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from sim.mechanisms.social_orgs import OrgBridge
from sim.params import ModelParams, PolicyParams
from sim.sparse import copy_block, unsigned
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


@numba.njit(cache=True, nogil=True)
def _scatter_layer(  # pragma: no cover - compiled
    indptr, indices, data, values, total, apart, stamp, code, first, later
):
    """Add one layer's ``A[:, ids] @ spread`` to ``total``, summed as scipy sums it.

    ``spread[j] = values[j] / deg(j)``: what member ``j`` sends, shared evenly over its ties.

    ``indptr, indices, data`` hold the members' rows of the layer (row ``j``: member ``j``).
    For each member ``j`` in order and each tie ``i`` of j in order, the contribution
    is ``a_(m,i) * spread[j]``: the order in which ``scipy``'s ``csc_matvecs`` adds them. The
    layers' sums must be added to each other whole (``(work + residence) + online``), so a
    person this layer reaches after an earlier layer did gets this layer's sum apart, in
    ``apart``, added to ``total`` at the end; everyone else is summed straight into ``total``.
    ``stamp`` remembers who was reached, by which layer (``2 code``: in ``total``, ``2 code + 1``:
    apart); codes only grow, so a stamp below ``2 first`` is from an earlier call. Returns the
    people summed apart (``later``), to be added by :func:`_add_apart`.
    """
    k = values.shape[1]
    spread = np.empty(k)
    direct, separate = 2 * code, 2 * code + 1
    n_later = 0
    for j in range(indptr.size - 1):
        deg = indptr[j + 1] - indptr[j]
        if deg == 0:  # no tie to send on
            continue
        silent = True
        for c in range(k):
            spread[c] = values[j, c] / np.float64(deg)
            if spread[c] != 0.0:
                silent = False
        if silent:  # adds exact zeros only
            continue
        for jj in range(indptr[j], indptr[j + 1]):
            i = indices[jj]
            a = np.float64(data[jj])
            st = stamp[i]
            if st == direct:
                for c in range(k):
                    total[i, c] += a * spread[c]
            elif st == separate:
                for c in range(k):
                    apart[i, c] += a * spread[c]
            elif st >= 2 * first:  # an earlier layer of this call reached i
                stamp[i] = separate
                later[n_later] = i
                n_later += 1
                for c in range(k):
                    apart[i, c] = a * spread[c]
            else:  # first reached in this call: total[i] is 0, and 0 + x == x
                stamp[i] = direct
                for c in range(k):
                    total[i, c] = a * spread[c]
    return n_later


@numba.njit(cache=True, nogil=True)
def _add_apart(total, apart, later, n_later):  # pragma: no cover - compiled
    """``total[i] += apart[i]`` for the people a layer summed apart."""
    for t in range(n_later):
        i = later[t]
        for c in range(total.shape[1]):
            total[i, c] += apart[i, c]


@numba.njit(cache=True, nogil=True)
def _count_masses(indptr, indices, data, on, kind, out):  # pragma: no cover
    """``out[j] += (ties to masses, ties to masses with a need)`` of member ``j`` if ``on[j]``.

    ``kind`` per person: 0 a member, 1 a mass, 3 a mass with a need (one byte read per tie).
    The two columns are ``A[ids] @ [mass, mass & need]`` summed from zero in tie order, as
    ``scipy``'s ``csr_matvecs`` sums them, then added to ``out`` (layer after layer).
    """
    for j in range(indptr.size - 1):
        if not on[j]:
            continue
        masses = 0.0
        needy = 0.0
        for jj in range(indptr[j], indptr[j + 1]):
            k = kind[indices[jj]]
            a = np.float64(data[jj])
            masses += a * (1.0 if k & 1 else 0.0)
            needy += a * (1.0 if k & 2 else 0.0)
        out[j, 0] += masses
        out[j, 1] += needy


@numba.njit(cache=True, nogil=True)
def _positions(old_ids, ids, out):  # pragma: no cover - compiled
    """``out[j]``: the position of ``ids[j]`` in ``old_ids`` or -1 (both sorted), by merging."""
    p = 0
    for j in range(ids.size):
        while p < old_ids.size and old_ids[p] < ids[j]:
            p += 1
        out[j] = p if p < old_ids.size and old_ids[p] == ids[j] else -1


@numba.njit(cache=True, nogil=True)
def _member_rows(src, old_ptr, old_idx, old_data, ptr, idx, data, ids):  # pragma: no cover
    """The rows ``ids`` of a layer, copied from the previous copy where it has them.

    ``old_*`` hold the rows copied before; ``ptr, idx, data`` the whole layer; ``src[j]`` is
    the position of member ``ids[j]``'s row in the old copy, or -1 to read it from the layer (a
    newcomer, or a row whose ties changed). Runs of members kept in a row are one block copy.
    """
    m = ids.size
    new_ptr = np.zeros(m + 1, np.int64)
    for j in range(m):
        if src[j] >= 0:
            new_ptr[j + 1] = new_ptr[j] + old_ptr[src[j] + 1] - old_ptr[src[j]]
        else:
            new_ptr[j + 1] = new_ptr[j] + ptr[ids[j] + 1] - ptr[ids[j]]
    new_idx = np.empty(new_ptr[m], idx.dtype)
    new_data = np.empty(new_ptr[m], data.dtype)
    j = 0
    while j < m:
        if src[j] >= 0:
            # a run of members kept in a row: their rows are one block of the old copy
            first = j
            while j + 1 < m and src[j + 1] == src[j] + 1:
                j += 1
            lo, hi = old_ptr[src[first]], old_ptr[src[j] + 1]
            copy_block(old_idx, old_data, lo, hi, new_idx, new_data, new_ptr[first])
        else:
            i = ids[j]
            copy_block(idx, data, ptr[i], ptr[i + 1], new_idx, new_data, new_ptr[j])
        j += 1
    return new_ptr, new_idx, new_data


class MemberReach:
    """Delivers per-member quantities to everyone tied to the member, layer by layer.

    The members' rows of every layer are kept as a contiguous copy (read in order by the
    compiled kernels); a change of membership copies the kept members' rows from the old copy
    and reads only the newcomers' rows from the layer.

    Args:
        layers: the network layers by name (CSR, sorted indices).
        member_ids: sorted ids of the current members (refresh when membership changes).
    """

    def __init__(
        self,
        layers: dict[str, sp.csr_array],
        member_ids: np.ndarray,
        previous: MemberReach | None = None,
        changed: np.ndarray | None = None,
    ):
        """See the class; ``previous`` (with ``changed``, the people whose ties changed since
        it was built) lends its copies of the rows that did not change."""
        self.layers = dict(layers)
        self.degree = {k: np.diff(a.indptr).astype(float) for k, a in layers.items()}
        n = next(iter(layers.values())).shape[0] if layers else 0
        self._stamp = np.full(n, -1, np.int32)  # who a layer reached, by layer code
        self._code = 0  # the next layer code (grows call after call)
        self._later = np.empty(n, np.intp)
        self._apart: np.ndarray | None = None
        self.ids = np.empty(0, np.int64)
        self._rows = {
            k: (np.zeros(1, np.int64), np.empty(0, a.indices.dtype), np.empty(0, a.dtype))
            for k, a in layers.items()
        }
        self._stale: dict[str, np.ndarray] = {}
        if previous is not None and changed is not None:
            # start from the previous copies; the rows of people whose ties changed are stale
            # on the layers that changed
            self.ids, self._rows = previous.ids, dict(previous._rows)
            for k, a in layers.items():
                if a is not previous.layers.get(k):
                    self._stale[k] = np.isin(self.ids, changed)
        self.refresh(member_ids)
        self._stale = {}

    def refresh(self, member_ids: np.ndarray) -> None:
        """The membership changed: the members' rows (ids in increasing order)."""
        ids = np.ascontiguousarray(member_ids, dtype=np.int64)
        # where each member's row is in the old copies (-1: not there)
        kept = np.empty(ids.size, np.int64)
        _positions(unsigned(self.ids), unsigned(ids), kept)
        found = kept >= 0
        for k, a in self.layers.items():
            old_ptr, old_idx, old_data = self._rows[k]
            src = kept
            if (stale := self._stale.get(k)) is not None:  # ties changed: read from the layer
                src = kept.copy()
                src[found] = np.where(stale[kept[found]], -1, kept[found])
            self._rows[k] = _member_rows(
                src,
                unsigned(old_ptr),
                old_idx,
                old_data,
                unsigned(a.indptr),
                a.indices,
                a.data,
                unsigned(ids),
            )
        self.ids = ids

    def _spread(self, name: str, values: np.ndarray) -> np.ndarray:
        """Each member's values shared evenly over its ties on the layer."""
        deg = self.degree[name][self.ids]
        return np.divide(values, deg[:, None], out=np.zeros_like(values), where=deg[:, None] > 0)

    def deliver(self, per_layer: dict[str, np.ndarray]) -> np.ndarray:
        """Sum over layers of A_l[:, members] @ (V_l / deg_l(member)).

        Args:
            per_layer: for each layer, an (members x k) array of what each member sends.

        Returns:
            An (N x k) float array of what each person receives; the layers are summed in
            the order given, each layer's sum complete before it is added.
        """
        k = next(iter(per_layer.values())).shape[1]
        n = self._stamp.size
        if self._apart is None or self._apart.shape[1] != k:
            self._apart = np.empty((n, k))
        total = np.zeros((n, k))
        first = self._code
        for name, values in per_layer.items():
            ptr, idx, data = self._rows[name]
            n_later = _scatter_layer(
                unsigned(ptr),
                unsigned(idx),
                data,
                np.ascontiguousarray(values, dtype=float),
                total,
                self._apart,
                self._stamp,
                self._code,
                first,
                self._later,
            )
            _add_apart(total, self._apart, self._later, n_later)
            self._code += 1
        return total

    def count_masses(
        self, on: dict[str, np.ndarray], mass: np.ndarray, need: np.ndarray
    ) -> np.ndarray:
        """Per member, its ties to masses and to masses with a need, on the layers open to it.

        Args:
            on: for each layer, whether each member (aligned with ``ids``) reaches people on it.
            mass: per person, not a member.
            need: per person, an unmet need.

        Returns:
            A (members x 2) float array: :meth:`gather_reference` of ``[mass, mass & need]``.
        """
        out = np.zeros((self.ids.size, 2))
        kind = mass.view(np.uint8) | ((mass & need).view(np.uint8) << 1)
        for name, mask in on.items():
            ptr, idx, data = self._rows[name]
            _count_masses(unsigned(ptr), unsigned(idx), data, mask, kind, out)
        return out

    def deliver_reference(self, per_layer: dict[str, np.ndarray]) -> np.ndarray:
        """:meth:`deliver` with scipy's sparse products (the kernels' check, slower)."""
        total = None
        for name, values in per_layer.items():
            got = self.layers[name][self.ids].T @ self._spread(name, values)
            total = got if total is None else total + got
        return total

    def gather_reference(self, values: np.ndarray, on: dict[str, np.ndarray]) -> np.ndarray:
        """:meth:`gather` with scipy's sparse products (the kernels' check, slower)."""
        out = np.zeros((self.ids.size, values.shape[1]))
        for name, mask in on.items():
            out += (self.layers[name][self.ids] @ values) * mask[:, None]
        return out


@numba.njit(cache=True, nogil=True)
def _received(got, rate, hit, arg):  # pragma: no cover - compiled
    """Who received real (column 0) and formal (column 1) hours, and ``-rate`` times them.

    A compaction without branches: every person is written at the next free position, which
    moves on only for a positive amount. ``hit[c, :count]`` are the ids in increasing order,
    followed by ``n`` (a sentinel); ``arg[c, :count]`` the exponents ``-rate * hours`` of the
    hazard ``1 - exp(-rate * hours)`` (the same product numpy formed before), followed by 0.

    Returns:
        ``(count_real, count_formal)``.
    """
    n = got.shape[0]
    neg = -rate
    c0 = 0
    c1 = 0
    for i in range(n):
        r = got[i, 0]
        f = got[i, 1]
        hit[0, c0] = i
        arg[0, c0] = neg * r
        c0 += r > 0.0
        hit[1, c1] = i
        arg[1, c1] = neg * f
        c1 += f > 0.0
    hit[0, c0] = n
    hit[1, c1] = n
    arg[0, c0] = 0.0
    arg[1, c1] = 0.0
    return c0, c1


def hazards(got: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chances ``1 - exp(-rate * hours)`` of real and formal contact, for those with hours.

    Most people receive no hours in a week, and their chance is exactly 0; numpy's ``expm1``
    (the one the model has always used, vectorised) runs over the others only.

    Args:
        got: (N x k) what each person received; columns 0 and 1 are real and formal hours.
        rate: ``model.service_rate``.

    Returns:
        ``(hit, p_real, p_formal)``: ``hit[0]`` the people with real hours in increasing
        order then ``N``, ``p_real`` their chances then 0 (the same for ``hit[1]`` and
        ``p_formal``); what :func:`_settle` reads.
    """
    n = got.shape[0]
    hit = np.empty((2, n + 1), np.intp)
    arg = np.empty((2, n + 1))
    c_real, c_formal = _received(got, float(rate), hit, arg)
    # the sentinel's exponent is 0, so its chance is -expm1(0.0) = -0.0: never read as anyone's
    return hit, -np.expm1(arg[0, : c_real + 1]), -np.expm1(arg[1, : c_formal + 1])


@numba.njit(cache=True, nogil=True)
def _settle(  # pragma: no cover - compiled
    member,
    need,
    private,
    need_rate,
    private_share,
    got,
    hit,
    p_real,
    p_formal,
    u,
    care,
    gain,
    loss,
    unmet_loss,
    lapse_above,
    x,
    anchor,
    last_reached,
    week,
    reached,
    covered,
    met,
    met_view,
):
    """The per-person service of the week, in one pass (reference: :func:`settle_reference`).

    New needs (a mass without one gets one with chance ``need_rate``, private with chance
    ``need_rate * private_share``, both read off the uniform ``u[0]``), which needs are
    resolved (hazard ``p_real``, private ones times ``care``), formalistic contacts (hazard
    ``p_formal``), the image update of identification and anchor (float32, as
    :func:`image_update` and the unmet-need loss compute it), needs that lapse, and who was
    reached, covered and met. ``u`` holds this week's three uniforms per person (float32);
    ``hit, p_real, p_formal`` are :func:`hazards` (a person not listed has chance 0).
    """
    one = np.float32(1.0)
    zero = np.float32(0.0)
    a = 0  # the next person with real hours, in hit[0]
    b = 0  # ... with formal hours, in hit[1]
    for i in range(member.size):
        mass = not member[i]
        if mass and not need[i] and u[0, i] < need_rate[i]:  # a new need
            need[i] = True
            private[i] = u[0, i] < need_rate[i] * private_share
        in_real = hit[0, a] == i
        in_formal = hit[1, b] == i
        pr = p_real[a] if in_real else 0.0
        pf = p_formal[b] if in_formal else 0.0
        a += in_real
        b += in_formal
        p = pr * care if private[i] else pr
        served = need[i] and mass and np.float64(u[1, i]) < p
        contact = mass and np.float64(u[2, i]) < pf
        unmet = mass and need[i] and not served
        up = gain if served else zero
        down = loss if contact else zero
        keep = one - (unmet_loss if unmet else zero)
        v = x[i]
        v = v + up * (one - v)
        x[i] = (v - down * v) * keep
        v = anchor[i]
        v = v + up * (one - v)
        anchor[i] = (v - down * v) * keep
        still = need[i] and not served
        need[i] = still and not (mass and u[0, i] > lapse_above)
        real = got[i, 0]
        reached[i] = mass and real > 0.0
        if reached[i]:
            last_reached[i] = week
        covered[i] = mass and got[i, 3] > 0.0
        total = real + got[i, 1]
        met[i] = total > 0.0
        met_view[i] = got[i, 2] / total if met[i] else 0.0


def image_update(
    x: np.ndarray, served: np.ndarray, formal_contact: np.ndarray, gain: float, loss: float
) -> np.ndarray:
    """Identification after resolved needs (up) and formalistic contacts (down)."""
    up = (gain * served).astype(x.dtype)
    down = (loss * formal_contact).astype(x.dtype)
    x = x + up * (1 - x)
    return x - down * x


def settle_reference(
    member,
    need,
    private,
    need_rate,
    private_share,
    got,
    rate,
    u,
    care,
    gain,
    loss,
    unmet_loss,
    lapse_above,
    x,
    anchor,
    last_reached,
    week,
):
    """:func:`_settle` (with :func:`hazards`) in plain numpy, its independent check.

    Returns:
        ``(need, private, x, anchor, last_reached, reached, covered, met, met_view)``.
    """
    mass = ~member
    fresh = mass & ~need & (u[0] < need_rate)
    need = need | fresh
    private = np.where(fresh, u[0] < need_rate * private_share, private)
    p_real = -np.expm1(-rate * got[:, 0])
    p_formal = -np.expm1(-rate * got[:, 1])
    served = need & mass & (u[1] < np.where(private, p_real * care, p_real))
    formal_contact = mass & (u[2] < p_formal)
    unmet = mass & need & ~served
    keep = np.float32(1.0) - np.float32(unmet_loss) * unmet
    out = []
    for arr in (x, anchor):
        out.append(image_update(arr, served, formal_contact, float(gain), float(loss)) * keep)
    need = need & ~served & ~(mass & (u[0] > lapse_above))
    reached = mass & (got[:, 0] > 0)
    last_reached = np.where(reached, week, last_reached).astype(last_reached.dtype)
    total = got[:, 0] + got[:, 1]
    met = total > 0
    met_view = np.divide(got[:, 2], total, out=np.zeros(member.size), where=met)
    return (
        need,
        private,
        out[0],
        out[1],
        last_reached,
        reached,
        mass & (got[:, 3] > 0),
        met,
        met_view,
    )


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

    The branch's service hours are given by its engaged members; a branch without any goes
    through the motions: its members give the hours as formalistic contacts (no hour is lost).
    A dual-registered member moves a share of its hours to the community (unless the branch
    already lives there). Computed in one compiled pass (:func:`_sending`); the numpy version
    is :func:`member_sending_reference`.

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
    out = np.empty((3, ids.size, 4))
    _sending(
        unsigned(np.ascontiguousarray(ids, dtype=np.int64)),
        people.home_branch,
        people.commitment,
        people.dual_registered,
        people.identification,
        b.members,
        b.service + b.support,
        b.burden,
        b.kind,
        np.float32(p.engaged_level),
        float(p.formalism_level),
        float(p.dual_share),
        out,
    )
    return {"work": out[0], "residence": out[1], "online": out[2]}


@numba.njit(cache=True, nogil=True)
def _sending(  # pragma: no cover - compiled
    ids,
    home_branch,
    commitment,
    dual_registered,
    identification,
    members,
    hours_of,
    burden,
    kind_of,
    engaged_level,
    formalism_level,
    dual_share,
    out,
):
    """The per-member loop of :func:`member_sending` (same operations, order and dtypes)."""
    m = ids.size
    n_engaged = np.zeros(members.size, np.int64)
    for j in range(m):
        hb = home_branch[ids[j]]
        if hb >= 0 and commitment[ids[j]] > engaged_level:
            n_engaged[hb] += 1
    for j in range(m):
        i = ids[j]
        hb = home_branch[i]
        has = hb >= 0
        engaged = has and commitment[i] > engaged_level
        ne = np.float64(n_engaged[hb]) if has else 0.0
        none_engaged = ne == 0.0
        doers = (members[hb] if has else 0.0) if none_engaged else ne
        gives = has and (engaged or none_engaged)
        hours = hours_of[hb] if has else 0.0
        hours = (hours / doers if doers > 0 else 0.0) * (1.0 if gives else 0.0)
        formal = (burden[hb] if has else 0.0) > formalism_level or none_engaged
        dual = dual_registered[i] and has
        kind = kind_of[hb] if has else -1
        home_work = kind == UNIT or kind == JOINT
        home_residence = kind == COMMUNITY
        home_online = kind == PLATFORM_BRANCH or kind == ONLINE
        moved = (dual_share if dual and not home_residence else 0.0) * hours
        view = np.float64(identification[i])
        present = 1.0 if has else 0.0
        for layer in range(3):
            if layer == 0:
                h = (hours - moved) * (1.0 if home_work else 0.0)
                on = home_work
            elif layer == 1:
                h = hours if home_residence else moved
                on = home_residence or dual
            else:
                h = (hours - moved) * (1.0 if home_online else 0.0)
                on = home_online
            real = h * (0.0 if formal else 1.0)
            form = h * (1.0 if formal else 0.0)
            out[layer, j, 0] = real
            out[layer, j, 1] = form
            out[layer, j, 2] = (real + form) * view
            out[layer, j, 3] = present * (1.0 if on else 0.0)


def member_sending_reference(
    people: People, b: Branches, p: ModelParams, ids: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`member_sending` by numpy passes (its kernel's check).

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
    u = rng.random((3, n), dtype=np.float32)
    sending = member_sending(people, state.branches, p, reach.ids)
    got = reach.deliver(sending)
    bridge.add_to(got, reach.ids, sending)
    # new needs (masses only: members' own problems are §5.6), the hazards of those who
    # received hours, and the per-person bookkeeping in one compiled pass
    hit, p_real, p_formal = hazards(got, p.service_rate)
    people.reached = np.empty(n, bool)
    people.covered = np.empty(n, bool)
    people.met = np.empty(n, bool)
    people.met_view = np.empty(n)
    _settle(
        people.member,
        people.need,
        people.private_need,
        people.need_rate,
        people.need_rate.dtype.type(p.private_need_share),  # as numpy multiplies them
        got,
        hit,
        p_real,
        p_formal,
        u,
        float(policy.lever("care_service")),
        np.float32(p.service_gain),
        np.float32(p.formalism_loss),
        np.float32(p.unmet_need_loss),
        np.float32(1.0 - p.need_lapse),
        people.identification,
        people.anchor,
        people.last_reached,
        week,
        people.reached,
        people.covered,
        people.met,
        people.met_view,
    )
    return Events()
