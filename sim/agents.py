"""The five kinds of agent (plus social organisations) as Mesa agents.

Organisational agents (:class:`Committee`, :class:`WorkDepartment`, :class:`Branch`,
:class:`SocialOrg`) are ordinary Mesa agents holding their identity and links; their numeric
state that mechanisms update every week lives in the model's arrays, indexed by the agent's
``index``. :class:`Member` and :class:`Mass` are thin views over the model's per-person arrays
(``pid`` indexes them): reading ``member.commitment`` reads the array, so a person costs no
Python work per step. A recruit changes class from ``Mass`` to ``Member`` (``model.admit``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.world import BRANCH_KINDS, SECTORS

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
        ids = np.flatnonzero(self.model.world.branch_committee == self.index)
        return [self.model.branch_agents[i] for i in ids]


class WorkDepartment(mesa.Agent):
    """A party work department (organisation, propaganda, ...) attached to a committee."""

    def __init__(self, model: PartyBuildingModel, index: int, committee: Committee, kind: str):
        super().__init__(model)
        self.index = index
        self.committee = committee
        self.kind = kind


class Branch(mesa.Agent):
    """A grassroots branch; its weekly numbers are rows of the model's branch arrays."""

    def __init__(self, model: PartyBuildingModel, index: int):
        super().__init__(model)
        self.index = index

    @property
    def kind(self) -> str:
        return BRANCH_KINDS[self.model.world.branch_kind[self.index]]

    @property
    def committee(self) -> Committee:
        return self.model.committee_agents[self.model.world.branch_committee[self.index]]

    @property
    def member_ids(self) -> np.ndarray:
        return np.flatnonzero(self.model.home_branch == self.index)

    @property
    def size(self) -> int:
        return int(self.model.branch_members[self.index])

    @property
    def capacity(self) -> float:
        return float(self.model.branch_capacity[self.index])

    @property
    def burden(self) -> float:
        return float(self.model.branch_burden[self.index])


class SocialOrg(mesa.Agent):
    """A registered social organisation; partnered ones pass on the party's calls."""

    def __init__(self, model: PartyBuildingModel, index: int, partnered: bool):
        super().__init__(model)
        self.index = index
        self.partnered = partnered

    @property
    def member_ids(self) -> np.ndarray:
        col = self.model.world.org_members[:, [self.index]]
        return col.nonzero()[0]


class Person(mesa.Agent):
    """Shared view over the per-person arrays."""

    def __init__(self, model: PartyBuildingModel, pid: int):
        super().__init__(model)
        self.pid = pid

    @property
    def sector(self) -> str:
        return SECTORS[self.model.world.sector[self.pid]]

    @property
    def community(self) -> int:
        return int(self.model.world.community[self.pid])

    @property
    def identification(self) -> float:
        """For a mass: trust in the party; for a member: commitment."""
        return float(self.model.x[self.pid])

    @property
    def active(self) -> bool:
        return bool(self.model.active[self.pid])

    @property
    def need(self) -> bool:
        return bool(self.model.need[self.pid])


class Member(Person):
    """A party member (a view over the model's arrays)."""

    @property
    def commitment(self) -> float:
        return float(self.model.x[self.pid])

    @property
    def home_branch(self) -> Branch | None:
        b = self.model.home_branch[self.pid]
        return None if b < 0 else self.model.branch_agents[b]

    @property
    def floating(self) -> bool:
        return bool(self.model.home_branch[self.pid] < 0)

    @property
    def dual_registered(self) -> bool:
        return bool(self.model.dual_registered[self.pid])

    @property
    def engaged(self) -> bool:
        return bool(self.model.x[self.pid] > self.model.params.engaged_level)


class Mass(Person):
    """A non-member (a view over the model's arrays)."""
