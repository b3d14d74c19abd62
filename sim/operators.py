"""Sparse operators the model derives from the state and reuses every week.

They are caches, not state: the model rebuilds them when the network's version changes (ties
changed) and refreshes the members' part when people are admitted. Mechanisms receive them
read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.mechanisms import recruitment
from sim.mechanisms.enculturation import BoundedConfidenceOperator
from sim.mechanisms.mobilization import Peers, layer_degrees
from sim.mechanisms.service import MemberReach
from sim.mechanisms.social_orgs import OrgBridge
from sim.params import ModelParams, PolicyParams
from sim.sparse import buffers_of, weighted_sum
from sim.state import LAYERS, State


@dataclass(slots=True)
class Operators:
    """Operators over the current network and members."""

    influence: BoundedConfidenceOperator  #: weighted multiplex adjacency for enculturation
    peers: Peers  #: the peer term of mobilization (pooled over the influence adjacency, or OR)
    reach: MemberReach  #: the members' ties, for service and sensing
    bridge: OrgBridge  #: partnered social organisations' relay (built once, at set-up)
    weight_cache: recruitment.WeightCache  #: recruitment weights, updated as people change
    network_version: int  #: the network version these were built from
    layers: list  #: the (work, residence, online) layers the influence was summed from
    #: buffers free for the next influence matrix (those of the one before this one)
    spare: tuple | None = None

    @property
    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Recruitment (application, outreach) weights of every person."""
        return self.weight_cache.values

    def refresh_members(self, member_ids: np.ndarray) -> None:
        """The membership changed: re-cache the members' ties."""
        self.reach.refresh(member_ids)


def build(
    state: State,
    p: ModelParams,
    policy: PolicyParams,
    bridge: OrgBridge | None = None,
    previous: Operators | None = None,
) -> Operators:
    """Build every operator from the state.

    Args:
        state: the model state.
        p: model parameters.
        policy: policy levers.
        bridge: the social organisations' relay, kept when given (built once, at set-up).
        previous: the operators before the ties changed: the influence rows of people whose
            ties did not change are taken from it.
    """
    layers = state.network.layers
    summed = [layers["work"], layers["residence"], layers["online"]]
    # the people whose ties changed since the previous operators (None: not known)
    changed = None
    if previous is not None:
        changed = state.network.rows_changed_since(previous.network_version)
    # w_work A_work + w_residence A_residence + w_online A_online (as scipy sums it)
    influence = weighted_sum(
        summed,
        [p.weight_work, p.weight_residence, p.weight_online],
        None if previous is None else (previous.influence.adjacency, previous.layers),
        changed,
        # the matrix before the previous one is no longer used: write into its buffers
        None if previous is None else previous.spare,
    )
    degree = None
    if changed is not None:  # row sums of the unchanged rows are the previous ones
        degree = previous.influence.degree.copy()
        degree[changed] = np.asarray(influence[changed].sum(axis=1)).ravel()
    influence_op = BoundedConfidenceOperator(influence, degree)
    if previous is None:
        weights = recruitment.WeightCache(state.people, p, policy)
    else:  # the weights do not depend on ties: keep them, brought up to date
        weights = previous.weight_cache
        weights.update(state.people)
    ordered = [layers[k] for k in LAYERS]
    peers = Peers(
        influence_op.adjacency,
        influence_op.degree,
        ordered,
        layer_degrees(ordered),
        p.peer_rule,
        p.or_min_active,
    )
    return Operators(
        influence=influence_op,
        peers=peers,
        reach=MemberReach(
            layers,
            state.people.member_ids(),
            None if previous is None else previous.reach,
            changed,
        ),
        bridge=bridge if bridge is not None else OrgBridge(state.orgs, state.people, p),
        weight_cache=weights,
        network_version=state.network.version,
        layers=summed,
        spare=None if previous is None else buffers_of(previous.influence.adjacency),
    )
