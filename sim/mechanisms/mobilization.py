"""Mobilization: a call starts a threshold cascade over the multiplex network (DESIGN §5.11).

Paper 4.3: the party's capacity to rally the masses. A person turns out when
``motivation + w * s - cost > threshold``: Granovetter's (1978) threshold model in Epstein's
(2002) net-benefit form, with Watts's (2002) fractional thresholds. Turning out is irreversible
during a call. The peer term ``s`` is the share of a person's ties that are active:

* ``pooled`` (default): ties pooled across layers with the layers' weights,
  ``s_i = sum_l w_l (A_l active)_i / sum_l w_l deg_l(i)``, one mat-vec over the weighted
  multiplex adjacency that enculturation also uses;
* ``or``: Brummitt, Lee and Goh's (2012) multiplex OR rule, the largest active share on any one
  layer, where a layer counts only with at least ``or_min_active`` active neighbours on it, so
  that a person with a single tie on a layer is not tipped by that tie alone.

Docking (tests/test_docking.py): on a complete graph of 100 people with normal thresholds of
mean 0.25 the final participation jumps from a handful to almost everyone as the spread of
thresholds passes its critical value (Granovetter 1978); on Erdos-Renyi graphs with uniform
fractional thresholds a single seed starts global cascades inside Watts's (2002) cascade
window and not outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sim.params import ModelParams
from sim.state import Events, State, at_branch

#: The peer rules (``ModelParams.peer_rule``).
PEER_RULES = ("pooled", "or")


def layer_degrees(layers: list[sp.csr_array]) -> list[np.ndarray]:
    """Degree of each person on each layer (as float)."""
    return [np.diff(a.indptr).astype(float) for a in layers]


@dataclass(slots=True)
class Peers:
    """Whom a person sees turning out: the operators of the peer term.

    Attributes:
        pooled: weighted multiplex adjacency ``sum_l w_l A_l``.
        pooled_degree: its row sums, ``sum_l w_l deg_l``.
        layers: the binary layers, for the OR rule.
        degrees: each person's degree on each layer, for the OR rule.
        rule: ``"pooled"`` or ``"or"``.
        min_active: active neighbours a layer needs to count under the OR rule.
    """

    pooled: sp.csr_array
    pooled_degree: np.ndarray
    layers: list[sp.csr_array]
    degrees: list[np.ndarray]
    rule: str = "pooled"
    min_active: int = 1

    def __post_init__(self) -> None:
        if self.rule not in PEER_RULES:
            raise ValueError(f"rule = {self.rule!r}: must be one of {', '.join(PEER_RULES)}")
        if self.min_active < 1:
            raise ValueError(f"min_active = {self.min_active}: must be at least 1")

    @classmethod
    def from_layers(
        cls,
        layers: list[sp.csr_array],
        weights: list[float] | None = None,
        rule: str = "pooled",
        min_active: int = 1,
    ) -> Peers:
        """Build from binary layers and their weights (all 1 when None)."""
        weights = [1.0] * len(layers) if weights is None else weights
        pooled = sp.csr_array(sum(w * a for w, a in zip(weights, layers, strict=True)))
        degree = np.asarray(pooled.sum(axis=1)).ravel()
        return cls(pooled, degree, layers, layer_degrees(layers), rule, min_active)

    def share(self, active: np.ndarray) -> np.ndarray:
        """The peer term ``s`` of every person given who is active."""
        a = active.astype(np.float32)
        if self.rule == "pooled":
            deg = self.pooled_degree
            return np.divide(self.pooled @ a, deg, out=np.zeros(a.size), where=deg > 0)
        best = np.zeros(a.size)
        share = np.empty(a.size)
        for adj, deg in zip(self.layers, self.degrees, strict=True):
            count = adj @ a
            # a layer counts with at least min_active (>= 1) active ties, so its degree is > 0
            share[:] = 0.0
            np.divide(count, deg, out=share, where=count >= self.min_active)
            np.maximum(best, share, out=best)
        return best


def threshold_cascade(
    peers: Peers,
    active: np.ndarray,
    drive: np.ndarray,
    threshold: np.ndarray,
    peer_weight: float,
    max_rounds: int,
) -> tuple[np.ndarray, int]:
    """Run synchronous rounds until no one changes or ``max_rounds`` is reached.

    Args:
        peers: the peer term's operators.
        active: who is already active (kept active).
        drive: motivation minus cost, per person.
        threshold: mobilization threshold per person.
        peer_weight: weight w of the peer term.
        max_rounds: most rounds to run.

    Returns:
        The new active vector and the number of rounds that changed someone.
    """
    active = active.copy()
    changed_rounds = 0
    for _ in range(max_rounds):
        new = active | (drive + peer_weight * peers.share(active) > threshold)
        if np.array_equal(new, active):
            break
        active = new
        changed_rounds += 1
    return active, changed_rounds


def call_active(p: ModelParams, week: int) -> bool:
    """Whether a mobilization call runs in the given week."""
    start = p.crisis_start
    return start >= 0 and start <= week < start + p.crisis_weeks


def step(state: State, p: ModelParams, week: int, peers: Peers) -> Events:
    """During a call, a threshold cascade over the network; otherwise nobody is out."""
    people = state.people
    if not call_active(p, week):
        if people.active.any():
            people.active[:] = False
        return Events()
    burden = at_branch(state.branches.burden, people.home_branch)
    # m_i = x_i (+ m_M c_i for members, + a partnered organisation's call)
    motivation = (
        people.identification
        + p.member_motivation * people.commitment * people.member
        + p.org_call * people.partnered
    )
    cost = p.cost_base + p.cost_burden * burden * people.member
    people.active, _ = threshold_cascade(
        peers, people.active, motivation - cost, people.threshold, p.peer_weight, p.rounds_per_week
    )
    return Events()
