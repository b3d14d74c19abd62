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
    org_reports,
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


def test_support_splits_into_an_equal_share_and_a_share_by_believed_need():
    belief, size = np.array([0.5, 0.25, 0.0]), np.array([2.0, 4.0, 10.0])
    # all by need: weights 1, 1, 0
    np.testing.assert_allclose(allocate_support(belief, size, 10.0, 0.0), [5.0, 5.0, 0.0])
    # all equal per member
    np.testing.assert_allclose(allocate_support(belief, size, 16.0, 1.0), [2.0, 4.0, 10.0])
    # half and half
    np.testing.assert_allclose(allocate_support(belief, size, 16.0, 0.5), [5.0, 6.0, 5.0])
    # nothing believed: by members
    np.testing.assert_allclose(
        allocate_support(np.zeros(2), np.array([1.0, 3.0]), 8.0, 0.0), [2, 6]
    )


def test_partnered_organisations_report_their_members_needs_through_a_branch():
    import scipy.sparse as sp

    # people x organisations: org 0 = people 0-3, org 1 = people 2-5, org 2 = person 6
    rows = [0, 1, 2, 3, 2, 3, 4, 5, 6]
    cols = [0, 0, 0, 0, 1, 1, 1, 1, 2]
    members = sp.csr_array((np.ones(9), (rows, cols)), shape=(7, 3))
    need = np.array([1, 0, 0, 0, 1, 1, 1], bool)
    got = org_reports(members, np.array([True, True, False]), np.array([0, 0, 1]), need, 3)
    np.testing.assert_allclose(got[0], (0.25 + 0.5) / 2)  # both partnered orgs via branch 0
    assert np.isnan(got[1]) and np.isnan(got[2])  # org 2 is not partnered; branch 2 has none


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
    engaged = (m.people.home_branch[ids] >= 0) & (m.people.commitment[ids] > m.params.engaged_level)
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
def test_committees_belief_follows_the_control_lost_reports(fidelity, levels):
    """No noise and no delay: each week a branch's committee moves its belief about it toward
    alpha * its report + (1 - alpha) * its preconception (one layer of control loss), at the
    belief rate; a branch that reports nothing drifts toward the preconception."""
    params = ModelParams(people=6000, sensing_noise=0.0, sensing_delay=0, levels=levels)
    policy = PolicyParams(sensing_fidelity=fidelity, social_org_partnership=0.0)  # no org reports
    m = PartyBuildingModel(params, policy, rng=2)
    m.run_for(3)
    b = m.branches
    before = b.belief.copy()
    m.step()
    keep = fidelity
    report = np.where(b.reporting, b.true_need, np.nan)
    target = np.where(
        np.isfinite(report), keep * report + (1 - keep) * b.preconception, b.preconception
    )
    old = before.size
    want = before + params.belief_rate * (target[:old] - before)
    reporting = np.isfinite(report[:old])
    assert reporting.sum() > 3
    np.testing.assert_allclose(b.belief[:old], want, rtol=1e-9)


def test_support_hours_reach_the_branches():
    m = PartyBuildingModel(ModelParams(people=1500), PolicyParams(), rng=1)
    m.run_for(2)
    assert m.branches.support.sum() == pytest.approx(
        m.params.support_hours * m.branches.members.sum()
    )
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


@pytest.mark.slow
def test_better_fidelity_puts_support_where_needs_are():
    """Fidelity matters downstream: with a faithful channel the support per member follows
    the branches' true need more closely than with a lossy one (paired seeds)."""

    def targeting(fidelity: float, seed: int) -> float:
        m = PartyBuildingModel(
            ModelParams(people=6000, crisis_start=-1),
            PolicyParams(sensing_fidelity=fidelity),
            rng=seed,
        )
        m.run_for(40)
        b = m.branches
        ok = (b.members > 0) & np.isfinite(b.true_need)
        return float(np.corrcoef(b.support[ok] / b.members[ok], b.true_need[ok])[0, 1])

    # 16 seeds: with few branches per world the per-seed correlations are noisy
    diff = paired_differences(targeting, 1.0, 0.3, range(16))
    assert_mean_sign(diff, +1, "correlation of support with true need")
