"""Sensing from the grassroots (DESIGN §5.3; paper 1.3 "社会感知的前端").

Control loss (Williamson 1967): a noise-free signal seen ``d`` layers up is
``alpha^d * estimate + (1 - alpha^d) * prior``, so with prior 0 exactly ``alpha^d`` of it. The
branches' observation is checked against a brute-force count over ties on a small model, the
delay against a hand-made sequence, and the model's committee picture against the formula.
"""

from __future__ import annotations

import logging
from collections import deque

import numpy as np
import pytest
from conftest import assert_mean_sign, paired_differences

from sim.mechanisms.sensing import (
    allocate_support,
    branch_need,
    control_loss,
    member_layers,
    perceive,
    send_report,
    sensing_error,
)
from sim.model import PartyBuildingModel
from sim.params import ModelParams, PolicyParams

logging.getLogger("MESA").setLevel(logging.WARNING)


@pytest.mark.parametrize("fidelity", [0.3, 0.8, 0.95, 1.0])
@pytest.mark.parametrize("layers", [0, 1, 2, 3, 5])
def test_control_loss_with_prior_zero_is_fidelity_to_the_layers(fidelity, layers):
    estimate = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    seen = control_loss(estimate, 0.0, fidelity, layers)
    np.testing.assert_allclose(seen, fidelity**layers * estimate, rtol=1e-14, atol=0)


def test_control_loss_by_hand():
    # 0.5^2 * 0.8 + (1 - 0.5^2) * 0.2 = 0.2 + 0.15
    assert float(control_loss(0.8, 0.2, 0.5, 2)) == pytest.approx(0.35, abs=1e-15)
    # a perfect channel passes the estimate; a useless one leaves only the prior
    assert float(control_loss(0.8, 0.2, 1.0, 4)) == pytest.approx(0.8, abs=1e-15)
    assert float(control_loss(0.8, 0.2, 1e-9, 2)) == pytest.approx(0.2, abs=1e-12)


def test_perceive_reads_missing_reports_as_prior():
    seen = perceive(np.array([0.6, np.nan, 0.2]), prior=0.4, fidelity=0.5, layers=1)
    np.testing.assert_allclose(seen, [0.5, 0.4, 0.3])


def test_report_channel_delay():
    channel: deque = deque()
    arrived = [float(send_report(channel, np.array([float(t)]), 3)[0]) for t in range(8)]
    # before 3 weeks have passed the first report arrives; then the one sent 3 weeks ago
    assert arrived == [0, 0, 0, 0, 1, 2, 3, 4]
    no_delay: deque = deque()
    assert [float(send_report(no_delay, np.array([t]), 0)[0]) for t in (5.0, 7.0)] == [5, 7]


def test_report_channel_pads_new_branches():
    channel: deque = deque()
    send_report(channel, np.array([0.1, 0.2]), 1)
    out = send_report(channel, np.array([0.3, 0.4, 0.5]), 1)
    np.testing.assert_array_equal(out[:2], [0.1, 0.2])
    assert np.isnan(out[2])


def test_support_is_proportional_to_seen_need_times_size():
    support = allocate_support(np.array([0.5, 0.25, 0.0]), np.array([2.0, 4.0, 10.0]), 10.0)
    np.testing.assert_allclose(support, [5.0, 5.0, 0.0])
    even = allocate_support(np.zeros(2), np.array([1.0, 3.0]), 8.0)
    np.testing.assert_allclose(even, [2.0, 6.0])


def test_sensing_error_is_weighted_mean_absolute_error():
    err = sensing_error(
        np.array([0.1, 0.5, 0.9]),
        np.array([0.2, 0.1, 0.0]),
        np.array([True, True, False]),
        np.array([3.0, 1.0, 5.0]),
    )
    assert err == pytest.approx((3 * 0.1 + 1 * 0.4) / 4)


def test_branch_need_matches_a_brute_force_count():
    m = PartyBuildingModel(ModelParams(people=1500), PolicyParams(embedding=0.5), rng=4)
    m.run_for(5)
    ids = m.ops.reach.ids
    engaged = (m.people.home_branch[ids] >= 0) & (m.people.x[ids] > m.params.engaged_level)
    mass = ~m.people.member
    people = m.people
    needy, ties, reporters = branch_need(
        m.ops.reach,
        people.home_branch,
        m.branches.kind,
        engaged,
        people.dual_registered,
        mass,
        people.need,
    )
    nb = m.branches.n
    want_needy, want_ties, want_rep = np.zeros(nb), np.zeros(nb), np.zeros(nb)
    for k, pid in enumerate(ids):  # a test may loop over people
        b = m.people.home_branch[pid]
        if b < 0:
            continue
        want_rep[b] += engaged[k]
        on = member_layers(m.branches.kind[[b]], m.people.dual_registered[[pid]])
        for layer, flag in on.items():
            if not flag[0]:
                continue
            row = m.network.layers[layer][[pid]]
            nbrs = row.indices
            want_ties[b] += mass[nbrs].sum()
            want_needy[b] += (mass[nbrs] & m.people.need[nbrs]).sum()
    np.testing.assert_allclose(ties, want_ties)
    np.testing.assert_allclose(needy, want_needy)
    np.testing.assert_allclose(reporters, want_rep)
    assert ties.sum() > 0 and needy.sum() > 0


@pytest.mark.parametrize("fidelity", [1.0, 0.7])
@pytest.mark.parametrize("levels", [2, 4])
def test_model_committee_sees_the_control_lost_truth(fidelity, levels):
    """No noise and no delay: for a reporting branch the committee sees
    alpha^d * true need + (1 - alpha^d) * prior, d = levels - 1."""
    params = ModelParams(people=1500, sensing_noise=0.0, sensing_delay=0, levels=levels)
    m = PartyBuildingModel(params, PolicyParams(sensing_fidelity=fidelity), rng=2)
    m.run_for(3)
    reporting = m.branches.reporting & np.isfinite(m.branches.true_need)
    assert reporting.sum() > 3
    keep = fidelity ** (levels - 1)
    want = keep * m.branches.true_need + (1 - keep) * m.state.hierarchy.prior
    np.testing.assert_allclose(m.branches.seen_need[reporting], want[reporting], rtol=1e-12)
    silent = ~reporting & np.isfinite(m.branches.true_need)
    np.testing.assert_allclose(m.branches.seen_need[silent], m.state.hierarchy.prior)


def test_support_hours_reach_the_branches():
    m = PartyBuildingModel(ModelParams(people=1500), PolicyParams(), rng=1)
    m.run_for(2)
    assert m.branches.support.sum() == pytest.approx(0.2 * m.branches.members.sum())
    assert np.all(m.branches.support >= 0)


@pytest.mark.slow
def test_lower_fidelity_larger_sensing_error_paired_seeds():
    def err(fidelity: float, seed: int) -> float:
        m = PartyBuildingModel(
            ModelParams(people=2000, crisis_start=-1),
            PolicyParams(sensing_fidelity=fidelity),
            rng=seed,
        )
        m.run_for(104)
        return float(m.results()["sensing_error"].tail(52).mean())

    assert_mean_sign(paired_differences(err, 0.3, 1.0, range(10)), +1, "sensing error")
