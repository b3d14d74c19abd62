"""Every read of the model's internal state that the explorer makes, in one place.

The rest of the explorer uses only the model's public API (``outcomes()``, ``datacollector``,
``seed``, ``steps``, ``step()``) and the functions here, so that a change in how the model keeps
its people, branches and network touches this module alone. Per-person reads take the ids of
the people wanted (the network sample), so that a view never copies a whole population.

Internals read here: the per-person arrays ``model.people`` (community, sector, member, home
branch, dual registration, service reached, identification and commitment), the branches'
kinds ``model.branches.kind``, the layers ``model.network.layers``, ``model.policy``, and the
code tables ``sim.state.SECTORS`` and ``sim.state.BRANCH_KINDS``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.model import PartyBuildingModel
from sim.params import PolicyParams
from sim.state import BRANCH_KINDS, SECTORS, at_branch

__all__ = [  # SECTORS and BRANCH_KINDS name the codes of sectors() and branch_kind_of_people()
    "BRANCH_KINDS",
    "SECTORS",
    "branch_kind_of_people",
    "dual_registered",
    "is_member",
    "person_values",
    "policy_of",
    "population",
    "reached_by_service",
    "residential_communities",
    "sample_layers",
    "sectors",
]


def population(model: PartyBuildingModel) -> int:
    """Number of people in the model now."""
    return model.people.n


def policy_of(model: PartyBuildingModel) -> PolicyParams:
    """The policy levers the model was built with."""
    return model.policy


def residential_communities(model: PartyBuildingModel) -> np.ndarray:
    """The residential community of every person (int, 0..communities-1)."""
    return model.people.community


def sectors(model: PartyBuildingModel) -> np.ndarray:
    """The sector every person works in now (an index into :data:`SECTORS`)."""
    return model.people.sector


def sample_layers(model: PartyBuildingModel, people: np.ndarray) -> dict[str, sp.csr_array]:
    """Each tie layer (work, residence, online) restricted to ``people``, in their order."""
    return {
        name: sp.csr_array(layer[people][:, people]) for name, layer in model.network.layers.items()
    }


def person_values(model: PartyBuildingModel, people: np.ndarray) -> np.ndarray:
    """Identification of masses and commitment of members, in [0, 1]."""
    p = model.people
    return np.where(p.member[people], p.commitment[people], p.identification[people])


def is_member(model: PartyBuildingModel, people: np.ndarray) -> np.ndarray:
    """Whether each person is a party member now."""
    return model.people.member[people]


def branch_kind_of_people(model: PartyBuildingModel, people: np.ndarray) -> np.ndarray:
    """The kind of each person's home branch (an index into :data:`BRANCH_KINDS`).

    -1 for people without a home branch: masses, and members who float.
    """
    return at_branch(model.branches.kind, model.people.home_branch[people], -1)


def dual_registered(model: PartyBuildingModel, people: np.ndarray) -> np.ndarray:
    """Whether each person is a member registered in their residential community too."""
    return model.people.dual_registered[people]


def reached_by_service(model: PartyBuildingModel, people: np.ndarray) -> np.ndarray:
    """Whether a member's service reached each person this week."""
    return model.people.reached[people]
