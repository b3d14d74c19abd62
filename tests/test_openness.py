"""Openness (DESIGN §5.4, §5.5, §5.10; paper 4): the sub-levers and social organisations."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_mean_sign, paired_differences

from sim import ModelParams, PartyBuildingModel, PolicyParams, load_config
from sim.mechanisms.social_orgs import relay_weights

SUB_LEVERS = ("new_strata_outreach", "social_org_partnership", "open_activities", "care_service")


@pytest.mark.parametrize("name", SUB_LEVERS)
def test_sub_levers_take_openness_when_unset(name):
    policy = PolicyParams(openness=0.7)
    assert getattr(policy, name) is None
    assert policy.lever(name) == 0.7
    assert PolicyParams(openness=0.7, **{name: 0.2}).lever(name) == 0.2
    assert policy.lever("openness") == 0.7


def test_sub_levers_from_config():
    cfg = load_config(["policy=openness", "policy.care_service=0.1"])
    assert cfg.policy.lever("care_service") == 0.1
    assert cfg.policy.lever("open_activities") == cfg.policy.openness
    assert load_config(["policy.online_branches=null"]).policy.online_branches is None
    assert load_config(["policy=foundation"]).policy.lever("platform_coverage") >= 0.9


def test_partnership_lever_sets_partnered_organisations():
    none = PartyBuildingModel(
        ModelParams(people=5000), PolicyParams(social_org_partnership=0.0), rng=1
    )
    every = PartyBuildingModel(
        ModelParams(people=5000), PolicyParams(openness=0.0, social_org_partnership=1.0), rng=1
    )
    assert not none.state.orgs.partnered.any() and not none.people.partnered.any()
    assert every.state.orgs.partnered.all()
    assert every.people.partnered.sum() == (every.state.orgs.members.sum(axis=1) > 0).sum()
    # hosts: partnered with at least branch_min_members party members
    hosts, relay = relay_weights(np.array([True, True, False]), np.array([5.0, 1.0, 9.0]), 3, 0.5)
    assert hosts.tolist() == [True, False, False] and relay.tolist() == [1.0, 0.5, 0.0]


@pytest.mark.slow
def test_members_of_partnered_organisations_mobilize_more():
    diffs = []
    for seed in range(8):
        m = PartyBuildingModel(
            ModelParams(people=20_000, crisis_start=10, crisis_weeks=4),
            PolicyParams(social_org_partnership=0.5),
            rng=seed,
        )
        m.run_for(12)
        orgs = m.state.orgs.members
        partnered = (orgs @ m.state.orgs.partnered.astype(np.float32)) > 0
        unpartnered = ((orgs @ (~m.state.orgs.partnered).astype(np.float32)) > 0) & ~partnered
        diffs.append(m.people.active[partnered].mean() - m.people.active[unpartnered].mean())
    assert_mean_sign(diffs)


@pytest.mark.slow
def test_partnered_organisations_relay_service():
    """With every organisation partnered, its members are reached more than with none."""
    diffs = []
    for seed in range(6):
        reached = []
        for share in (0.0, 1.0):
            m = PartyBuildingModel(
                ModelParams(people=20_000, crisis_start=-1),
                PolicyParams(social_org_partnership=share),
                rng=seed,
            )
            m.run_for(8)
            in_org = (np.asarray(m.state.orgs.members.sum(axis=1)).ravel() > 0) & ~m.people.member
            reached.append(m.people.reached[in_org].mean())
        diffs.append(reached[1] - reached[0])
    assert_mean_sign(diffs)


def last_quarter(policy: dict, seed: int) -> dict[str, float]:
    """Mean outcomes over the last 13 of 52 weeks without a crisis call."""
    m = PartyBuildingModel(
        ModelParams(people=3000, crisis_start=-1), PolicyParams(**policy), rng=seed
    )
    m.run_for(52)
    return m.results().tail(13).mean().to_dict()


@pytest.mark.slow
def test_care_service_answers_private_needs():
    diffs = paired_differences(last_quarter, {"care_service": 1.0}, {"care_service": 0.0}, range(6))
    assert_mean_sign(diffs["unmet_needs"], -1, "unmet needs")


@pytest.mark.slow
def test_open_activities_pull_masses_toward_members():
    diffs = paired_differences(
        last_quarter, {"open_activities": 1.0}, {"open_activities": 0.0}, range(6)
    )
    assert_mean_sign(diffs["identification"], +1, "identification")
