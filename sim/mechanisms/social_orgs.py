"""Social organisations as bridges between branches and the masses (DESIGN §5.10, paper 4.2).

Paper 4.2 (调动社会组织) asks the party to build its network inside other organisations, to learn
through them what the groups they link want, and to be able to call on them in routine
governance and in crises. About 0.63 registered social organisations exist per 1,000 people
(2022); the world builder gives each a few dozen members, mostly from one community.

A share ``policy.social_org_partnership`` of the organisations is partnered with the party
(drawn once per organisation, so runs that differ only in the lever share their draws). A
partnered organisation with at least ``model.branch_min_members`` party members among its
members also hosts a (functional) branch: its party members keep their home branches but meet
and serve inside the organisation. Partnered organisations pass on three things to all their
members:

* **service and enculturation:** the service hours the organisation's engaged party members
  send (real, formalistic and their views, as in :mod:`.service`) are relayed, shared evenly, to
  the organisation's members: a share ``model.org_relay`` of them, all of them if it hosts a
  branch. A relayed hour resolves needs and counts as meeting a member (open activities pull
  toward that member's view) exactly as an hour on a network layer does;
* **mobilization calls:** a call through a partnered organisation adds ``model.org_call`` to
  the motivation of its members (``sim.mechanisms.mobilization``).

The relay is two sparse products with the people x organisations membership matrix; it costs
next to nothing (a few thousand non-zeros per 100,000 people).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from sim.params import ModelParams
from sim.state import People, SocialOrgs


def relay_weights(
    partnered: np.ndarray, party_members: np.ndarray, min_members: int, relay: float
) -> tuple[np.ndarray, np.ndarray]:
    """(hosts a branch, share of engaged members' hours relayed) per organisation."""
    hosts = partnered & (party_members >= min_members)
    return hosts, np.where(hosts, 1.0, np.where(partnered, relay, 0.0))


@numba.njit(cache=True, nogil=True)
def _add_rows(received, rows, values):  # pragma: no cover - compiled
    """``received[rows] += values`` for distinct ``rows``, without the gathered copies."""
    for t in range(rows.size):
        for c in range(values.shape[1]):
            received[rows[t], c] += values[t, c]


class OrgBridge:
    """The relay of partnered social organisations: an operator the model derives once.

    Which organisations host a branch is decided from the members they have when the operator
    is built (at set-up).

    Args:
        orgs: the social organisations (membership and partnership).
        people: the people (who is a party member).
        p: model parameters.
    """

    def __init__(self, orgs: SocialOrgs, people: People, p: ModelParams):
        self.members: sp.csr_array = sp.csr_array(orgs.members)
        self.size = np.asarray(self.members.sum(axis=0)).ravel()
        party = self.members.T @ people.member.astype(np.float32)
        self.partnered = np.asarray(orgs.partnered, bool)
        self.hosts, self.relay = relay_weights(
            self.partnered, party, p.branch_min_members, p.org_relay
        )
        self.scale = np.divide(
            self.relay, self.size, out=np.zeros(self.size.size), where=self.size > 0
        )
        # the people who belong to any organisation, and the organisations x those people
        # block of the membership (their columns in increasing id, as in the full matrix)
        self.people = np.flatnonzero(np.diff(self.members.indptr) > 0)
        self._rows = sp.csr_array(self.members[self.people])
        self._cols = sp.csr_array(self._rows.T)

    def count(self, flag: np.ndarray) -> np.ndarray:
        """Per organisation, how many of its members have ``flag`` (membership-weighted).

        The same sums, in the same order, as ``members.T @ flag`` over all people.
        """
        return self._cols @ flag[self.people].astype(np.float32)

    def add_to(
        self, received: np.ndarray, member_ids: np.ndarray, sending: dict[str, np.ndarray]
    ) -> None:
        """Add what partnered organisations relay to ``received`` (N x k), in place.

        Each organisation relays a share of what its party members send (summed over layers)
        to all its members, evenly; only the rows of people who belong to an organisation (a
        few percent of the population) are touched. What the organisation's people who are not
        party members send is zero, so the sums run over all its people in id order.
        """
        if self.people.size == 0 or not self.partnered.any():
            return
        total = sum(sending.values())
        # each organisation person's row of ``total`` (zero for those not in ``member_ids``)
        pos = np.minimum(np.searchsorted(member_ids, self.people), max(member_ids.size - 1, 0))
        found = member_ids[pos] == self.people if member_ids.size else np.zeros(0, bool)
        sent = np.zeros((self.people.size, total.shape[1]))
        sent[found] = total[pos[found]]
        per_org = (self._cols @ sent) * self.scale[:, None]
        _add_rows(received, self.people, self._rows @ per_org)
