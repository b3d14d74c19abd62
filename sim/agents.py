"""The five kinds of agent (plus social organisations) as Mesa agents.

Organisational agents (:class:`Committee`, :class:`WorkDepartment`, :class:`Branch`,
:class:`SocialOrg`) are ordinary Mesa agents holding their identity and links; the numbers
that mechanisms update every week live in the model's state (:mod:`sim.state`), indexed by the
agent's ``index``. :class:`Member` and :class:`Mass` are thin views over the per-person arrays
(``pid`` indexes them): reading ``member.commitment`` reads the array, so a person costs no
Python work per step. A recruit changes class from ``Mass`` to ``Member``: the model swaps the
agent when recruitment reports the admission.

A million people are a million Mesa agents: :func:`person_agents` creates them in bulk, as the
ordinary constructor would, at a fraction of its cost (the one place that relies on Mesa's
internals; ``tests/test_agents.py`` fails if Mesa's registration changes).
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable
from itertools import chain, repeat
from typing import TYPE_CHECKING

import mesa
import numpy as np
from mesa.agentset import _HardKeyAgentSet
from mesa.model import ModelSignals

from sim.state import BRANCH_KINDS, SECTORS

if TYPE_CHECKING:
    from sim.model import PartyBuildingModel


class Committee(mesa.Agent):
    """A party committee at one level of the hierarchy (level 0 is the top).

    Its behaviour acts through the mechanisms, vectorised over all committees: it adds its own
    margin to the assessment it passes down (:attr:`margin`, §5.2) and keeps beliefs about its
    branches from which support is allocated (§5.3).
    """

    def __init__(self, model: PartyBuildingModel, index: int, level: int):
        super().__init__(model)
        self.index = index
        self.level = level
        self.parent: Committee | None = None
        self.departments: list[WorkDepartment] = []

    @property
    def margin(self) -> float:
        """The escalation margin this committee adds (层层加码)."""
        return float(self.model.state.hierarchy.margin[self.index])

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
    """Shared view over the per-person arrays; ``index`` (also ``pid``) is the person id."""

    # A million people: slots for the attributes every person agent has (Mesa's and the index)
    # halve the time and memory it takes to create them. Other attributes still go to the
    # instance dict Mesa's Agent class provides.
    __slots__ = ("model", "unique_id", "pos", "index")

    def __init__(self, model: PartyBuildingModel, pid: int):
        super().__init__(model)
        self.index = pid

    @property
    def pid(self) -> int:
        """The person id (the row of the per-person arrays)."""
        return self.index

    @property
    def sector(self) -> str:
        return SECTORS[self.model.state.people.sector[self.pid]]

    @property
    def community(self) -> int:
        return int(self.model.state.people.community[self.pid])

    @property
    def identification(self) -> float:
        """Trust in and identification with the party."""
        return float(self.model.state.people.identification[self.pid])

    @property
    def age(self) -> int:
        return int(self.model.state.people.age[self.pid])

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
        """Willingness to do party work."""
        return float(self.model.state.people.commitment[self.pid])

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
        return bool(self.model.state.people.commitment[self.pid] > self.model.params.engaged_level)


class Mass(Person):
    """A non-member (a view over the state's arrays)."""


def person_agents(model: PartyBuildingModel, member: np.ndarray) -> list[Person]:
    """A ``Member`` or ``Mass`` agent for every person (indexed by person id), in bulk."""
    member = np.asarray(member, bool)
    return agents_in_bulk(model, ((Member, member), (Mass, ~member)), range(member.size))


def branch_agents(model: PartyBuildingModel, first: int, stop: int) -> list[Branch]:
    """``Branch`` agents for the branch rows ``first`` to ``stop - 1``, in bulk."""
    return agents_in_bulk(model, ((Branch, np.ones(stop - first, bool)),), range(first, stop))


def agents_in_bulk(
    model: PartyBuildingModel,
    classes: tuple[tuple[type[mesa.Agent], np.ndarray], ...],
    indices: range,
) -> list[mesa.Agent]:
    """One agent per item, of the class whose mask selects the item, registered in bulk.

    For view classes whose ``__init__(model, index)`` only calls ``super().__init__(model)`` and
    sets ``self.index = index`` (``Member``, ``Mass``, ``Branch``), the result is what
    ``cls(model, index)`` item after item gives: same attributes, unique ids in item order,
    same order in ``model.agents`` and ``model.agents_by_type``. It costs a tenth as much:
    Mesa's ``Agent.__init__`` and ``Model.register_agent`` spend several microseconds per agent
    on a signal, a formatted debug message and two set insertions, which made up most of a
    world build at a million people.

    This mirrors Mesa 3.5's ``Agent.__init__`` and ``Model.register_agent`` (``mesa/agent.py``,
    ``mesa/model.py``) and writes Mesa's private registries (``_all_agents``,
    ``_agents_by_type``, ``agent_id_counter``), replacing an agent set's dict of agents
    as Mesa's own ``_HardKeyAgentSet._update`` does; it is the only code that does.
    ``tests/test_agents.py`` compares it with the ordinary constructor and pins the source of
    the Mesa functions it mirrors, so a Mesa upgrade that changes them fails loudly. When
    anything observes agent registration (a signal subscriber, a batch of signals, a dataset
    tracking the class) it falls back to the ordinary constructor.

    Args:
        model: the model the agents belong to.
        classes: (agent class, bool mask over the items) pairs; the masks partition the items.
        indices: the index (row in the state's arrays) of each item.

    Returns:
        The agents, one per item, in a list: a numpy object array would hide its references
        from the garbage collector, and with them the cycle agents -> model -> agents, so no
        model holding one could ever be freed.
    """
    # the class of the first item registers first, as it would one by one
    present = sorted((int(np.argmax(m)), cls, m) for cls, m in classes if m.any())
    observed = (
        model._has_subscribers("agents", ModelSignals.AGENT_ADDED)
        or model._batch_context is not None
        or any(cls._datasets for _, cls, _ in present)
    )
    if observed:
        kind = np.empty(len(indices), dtype=object)
        for _, cls, mask in present:
            kind[mask] = cls
        return [cls(model, index) for cls, index in zip(kind.tolist(), indices, strict=True)]
    first_id = model.agent_id_counter
    in_order = np.empty(len(indices), dtype=object)  # temporary: see Returns
    of_class = {}
    # a million long-lived objects would trigger many pointless cycle collections
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _, cls, mask in present:
            items = np.flatnonzero(mask)
            agents = list(map(object.__new__, repeat(cls, items.size)))
            ids = (first_id + items).tolist()
            rows = (indices.start + items).tolist()
            for agent, unique_id, index in zip(agents, ids, rows, strict=True):
                # the attributes Agent.__init__ and the class's __init__ set, in their order
                agent.model = model
                agent.unique_id = unique_id
                agent.pos = None
                agent.index = index
            in_order[mask] = np.fromiter(agents, dtype=object, count=len(agents))
            of_class[cls] = agents
        everyone = in_order.tolist()
        new_class = any(cls not in model._agents_by_type for cls in of_class)
        earlier = _register(model._all_agents, everyone, keep_earlier=new_class)
        model.agent_id_counter = first_id + len(indices)
        for cls, agents in of_class.items():
            if cls in model._agents_by_type:
                model._agents_by_type[cls]._agents.update(dict.fromkeys(agents))
            else:
                others = chain(earlier, *(a for c, a in of_class.items() if c is not cls))
                model._agents_by_type[cls] = _new_class_set(model, agents, others)
    finally:
        if gc_was_enabled:
            gc.enable()
    return everyone


def _register(
    registry: _HardKeyAgentSet, agents: list[mesa.Agent], keep_earlier: bool
) -> list[mesa.Agent]:
    """Add agents to an agent set's dict (at its end, in order).

    A dict grows by rehashing everything it holds each time it fills up, so building one is
    the main cost here. When the new agents outnumber those already held, one dict of old and
    new agents built in a single pass (as Mesa's own ``_update`` does) costs half as much as
    building a dict of the new agents and inserting it into the old one.

    Returns:
        The agents it held before, in order, when ``keep_earlier`` or when it needed them
        anyway; else an empty list (listing a million agents to add a few is not free).
    """
    if len(agents) > len(registry._agents):
        earlier = list(registry._agents)
        registry._agents = dict.fromkeys(chain(earlier, agents))
        return earlier
    earlier = list(registry._agents) if keep_earlier else []
    registry._agents.update(dict.fromkeys(agents))
    return earlier


def _new_class_set(
    model: PartyBuildingModel, agents: list[mesa.Agent], others: Iterable[mesa.Agent]
) -> _HardKeyAgentSet:
    """The agent set of a class not registered yet: ``_HardKeyAgentSet(agents, model.random)``.

    When the class holds most of the model's agents (the masses among a million people), a
    copy of the model's dict of all agents with the ``others`` deleted is built several times
    faster than a new dict, and has the same agents in the same order.

    Args:
        model: the model, whose ``model.agents`` already holds ``agents``.
        agents: the class's agents, in the order they were registered.
        others: every other agent in ``model.agents``.
    """
    if 2 * len(agents) <= len(model._all_agents):
        return _HardKeyAgentSet(agents, random=model.random)
    mine = model._all_agents._agents.copy()  # a copy of a dict is not rehashed
    deque(map(mine.__delitem__, others), maxlen=0)  # deleting keeps the order of the rest
    agent_set = _HardKeyAgentSet([], random=model.random)
    agent_set._agents = mine
    return agent_set
