"""The bulk creation of agents matches Mesa's ordinary constructor (sim.agents).

:func:`sim.agents.agents_in_bulk` writes Mesa's private agent registries to create a million
agents quickly. These tests compare it with ``Member(model, pid)`` / ``Mass(model, pid)`` /
``Branch(model, index)`` one by one, and pin the source of the Mesa functions it mirrors: if
Mesa changes them, the pin fails and ``agents_in_bulk`` must be reviewed against the new
``mesa/agent.py`` and ``mesa/model.py`` before the pin is updated.
"""

from __future__ import annotations

import gc
import hashlib
import inspect
import weakref

import mesa
import numpy as np
import pytest
from mesa.agentset import _HardKeyAgentSet
from mesa.model import ModelSignals

import sim
from sim.agents import Branch, Committee, Mass, Member, branch_agents, person_agents

#: sha256 (first 16 hex digits) of the source of every Mesa function agents_in_bulk mirrors
MESA_REGISTRATION = {
    "Agent.__init__": (mesa.Agent.__init__, "e2201bbd712b1b3c"),
    "Model.register_agent": (mesa.Model.register_agent, "30899aa98cadd739"),
    "_HardKeyAgentSet.__init__": (_HardKeyAgentSet.__init__, "c26134c464148085"),
    "_HardKeyAgentSet.add": (_HardKeyAgentSet.add, "be7cc78b74cbda01"),
    # agents_in_bulk replaces an agent set's dict of agents, as this does
    "_HardKeyAgentSet._update": (_HardKeyAgentSet._update, "39b0d6ac06bc9859"),
}


def test_mesa_registration_is_the_one_agents_in_bulk_mirrors():
    for name, (fn, pinned) in MESA_REGISTRATION.items():
        got = hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()[:16]
        assert got == pinned, (
            f"Mesa's {name} changed (mesa {mesa.__version__}): review "
            "sim.agents.agents_in_bulk against it, then update the pin in tests/test_agents.py"
        )


def _model_with_a_committee() -> mesa.Model:
    model = mesa.Model(rng=0)
    Committee(model, 0, 0)  # an agent registered before the people, as in the real model
    return model


def _one_by_one(model: mesa.Model, member: np.ndarray) -> list[mesa.Agent]:
    return [Member(model, pid) if m else Mass(model, pid) for pid, m in enumerate(member)]


def _picture(model: mesa.Model) -> dict:
    """Everything observable about the model's agents, with the model replaced by a marker."""

    def attrs(agent):
        assert agent.model is model
        slots = {"unique_id", "pos", "index", "pid"}
        names = (set(dir(agent)) & slots | set(vars(agent))) - {"model"}
        return type(agent).__name__, {k: getattr(agent, k) for k in sorted(names)}

    return {
        "agents": [attrs(a) for a in model.agents],
        "by_type": {
            cls.__name__: [a.unique_id for a in s] for cls, s in model.agents_by_type.items()
        },
        "next_id": model.agent_id_counter,
    }


@pytest.mark.parametrize(
    "member",
    [
        np.array([True, False, False, True, False, True]),
        np.array([False, False, True]),
        np.array([True, True]),
        np.array([False, False]),
        np.zeros(0, bool),
        np.random.default_rng(1).random(500) < 0.1,
    ],
    ids=["member-first", "mass-first", "members-only", "masses-only", "nobody", "random"],
)
def test_bulk_creation_equals_the_ordinary_constructor(member):
    ordinary, bulk = _model_with_a_committee(), _model_with_a_committee()
    expected = _one_by_one(ordinary, member)
    got = person_agents(bulk, member)
    assert isinstance(got, list) and len(got) == member.size
    assert [a.pid for a in got] == list(range(member.size))
    assert _picture(bulk) == _picture(ordinary)
    assert [type(a) for a in got] == [type(a) for a in expected]
    # agents created afterwards, and removals, carry on identically
    for model, people in ((ordinary, expected), (bulk, got)):
        Member(model, member.size)
        for agent in people[::2]:
            agent.remove()
    assert _picture(bulk) == _picture(ordinary)
    assert all(a not in bulk.agents for a in got[::2])


def test_bulk_creation_falls_back_when_someone_listens():
    model = _model_with_a_committee()
    seen = []

    def handler(signal):  # Mesa holds observers weakly: keep this one alive
        seen.append(signal)

    model.observe("agents", ModelSignals.AGENT_ADDED, handler)
    agents = person_agents(model, np.array([True, False, False]))
    assert len(seen) == 3 and len(model.agents) == 4
    assert [a.unique_id for a in agents] == [2, 3, 4]


def test_bulk_branches_equal_the_ordinary_constructor():
    ordinary, bulk = _model_with_a_committee(), _model_with_a_committee()
    person_agents(bulk, np.array([True, False]))
    _one_by_one(ordinary, np.array([True, False]))
    expected = [Branch(ordinary, i) for i in range(3, 7)]
    got = branch_agents(bulk, 3, 7)
    assert [a.index for a in got] == [a.index for a in expected] == [3, 4, 5, 6]
    assert _picture(bulk) == _picture(ordinary)
    assert len(branch_agents(bulk, 7, 7)) == 0 and _picture(bulk) == _picture(ordinary)
    # fewer new agents than registered ones: added to the registries rather than rebuilding them
    Branch(ordinary, 7)
    branch_agents(bulk, 7, 8)
    assert _picture(bulk) == _picture(ordinary)


def test_a_dropped_model_is_freed():
    """Agents and model refer to each other; nothing may hide that cycle from the collector
    (a numpy object array of agents did: every model built in a process stayed in memory)."""
    model = sim.PartyBuildingModel(sim.ModelParams(people=500), rng=1)
    model.run_for(3)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_dropped_models_are_freed_without_an_explicit_collection():
    """A sweep's worker builds model after model and never calls ``gc.collect()``: the
    collector's own schedule must free the dropped ones. (Moving the agents straight to the
    oldest generation with ``gc.freeze(); gc.unfreeze()`` once hid them from that schedule:
    every model built in a worker stayed in memory.)"""
    refs = []
    for seed in range(6):
        model = sim.PartyBuildingModel(sim.ModelParams(people=3000), rng=seed)
        model.run_for(2)
        refs.append(weakref.ref(model))
        del model
        _ = [[i] for i in range(20_000)]  # the ordinary allocation between jobs
    assert sum(r() is not None for r in refs) <= 1
