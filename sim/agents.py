"""The five kinds of agent (plus social organisations) as Mesa agents.

Organisational agents (:class:`Committee`, :class:`WorkDepartment`, :class:`Branch`,
:class:`SocialOrg`) are ordinary Mesa agents holding their identity and links; the numbers
that mechanisms update every week live in the model's state (:mod:`sim.state`), indexed by the
agent's ``index``. :class:`Member` and :class:`Mass` are thin views over the per-person arrays
(``pid`` indexes them): reading ``member.commitment`` reads the array, so a person costs no
Python work per step. A recruit changes class from ``Mass`` to ``Member``: the model swaps the
agent when recruitment reports the admission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.state import BRANCH_KINDS, SECTORS

if TYPE_CHECKING:
    from sim.model import PartyBuildingModel


class Committee(mesa.Agent):
    """A party committee at one level of the hierarchy (level 0 is the top)."""

    def __init__(self, model: PartyBuildingModel, index: int, level: int):
        super().__init__(model)
        self.index = index
        self.level = level
        self.parent: Committee | None = None
        self.departments: list[WorkDepartment] = []

    @property
    def branches(self) -> list[Branch]:
        """Branches this committee leads directly."""
        ids = np.flatnonzero(self.model.state.branches.committee == self.index)
        return [self.model.branch_agents[i] for i in ids]


class WorkDepartment(mesa.Agent):
    """A party work department (organisation, propaganda, ...) attached to a committee."""

    def __init__(self, model: PartyBuildingModel, index: int, committee: Committee, kind: str):
        super().__init__(model)
        self.index = index
        self.committee = committee
        self.kind = kind


class Branch(mesa.Agent):
    """A grassroots branch; its weekly numbers are rows of the state's branch arrays."""

    def __init__(self, model: PartyBuildingModel, index: int):
        super().__init__(model)
        self.index = index

    @property
    def kind(self) -> str:
        return BRANCH_KINDS[self.model.state.branches.kind[self.index]]

    @property
    def committee(self) -> Committee:
        return self.model.committee_agents[self.model.state.branches.committee[self.index]]

    @property
    def member_ids(self) -> np.ndarray:
        people = self.model.state.people
        return np.flatnonzero(people.member & (people.home_branch == self.index))

    @property
    def size(self) -> int:
        return int(self.model.state.branches.members[self.index])

    @property
    def capacity(self) -> float:
        return float(self.model.state.branches.capacity[self.index])

    @property
    def burden(self) -> float:
        return float(self.model.state.branches.burden[self.index])


class SocialOrg(mesa.Agent):
    """A registered social organisation; partnered ones pass on the party's calls."""

    def __init__(self, model: PartyBuildingModel, index: int, partnered: bool):
        super().__init__(model)
        self.index = index
        self.partnered = partnered

    @property
    def member_ids(self) -> np.ndarray:
        col = self.model.state.orgs.members[:, [self.index]]
        return col.nonzero()[0]


class Person(mesa.Agent):
    """Shared view over the per-person arrays."""

    def __init__(self, model: PartyBuildingModel, pid: int):
        super().__init__(model)
        self.pid = pid

    @property
    def sector(self) -> str:
        return SECTORS[self.model.state.people.sector[self.pid]]

    @property
    def community(self) -> int:
        return int(self.model.state.people.community[self.pid])

    @property
    def identification(self) -> float:
        """For a mass: trust in the party; for a member: commitment."""
        return float(self.model.state.people.x[self.pid])

    @property
    def active(self) -> bool:
        return bool(self.model.state.people.active[self.pid])

    @property
    def need(self) -> bool:
        return bool(self.model.state.people.need[self.pid])


class Member(Person):
    """A party member (a view over the state's arrays)."""

    @property
    def commitment(self) -> float:
        return float(self.model.state.people.x[self.pid])

    @property
    def home_branch(self) -> Branch | None:
        b = self.model.state.people.home_branch[self.pid]
        return None if b < 0 else self.model.branch_agents[b]

    @property
    def floating(self) -> bool:
        return bool(self.model.state.people.home_branch[self.pid] < 0)

    @property
    def dual_registered(self) -> bool:
        return bool(self.model.state.people.dual_registered[self.pid])

    @property
    def engaged(self) -> bool:
        return bool(self.model.state.people.x[self.pid] > self.model.params.engaged_level)


class Mass(Person):
    """A non-member (a view over the state's arrays)."""
