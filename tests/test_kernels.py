"""The compiled kernels of the step give, bit for bit, what their numpy references give.

The step's hot loops are compiled (numba) so that each tie or person is visited once; each has
a plain numpy/scipy reference written the way the model computed it before. Equality is exact:
a kernel that summed in another order, or in another dtype, would fail here (and the golden
frames of ``test_golden.py`` would move).
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.mechanisms import service
from sim.mechanisms.service import MemberReach, member_layers, member_sending


@pytest.fixture(scope="module")
def model() -> sim.PartyBuildingModel:
    cfg = sim.load_config(["model.people=3000", "policy=four_dimensions"])
    m = sim.PartyBuildingModel.from_config(cfg, rng=5)
    m.run_for(6)
    return m


def test_deliver_equals_sparse_products(model):
    s = model.state
    reach = MemberReach(s.network.layers, s.people.member_ids())
    sending = member_sending(s.people, s.branches, model.params, reach.ids)
    got = reach.deliver(sending)
    assert got.shape == (s.people.n, 4)
    assert (got[:, 0] > 0).sum() > 100  # service reaches people: the check is not vacuous
    np.testing.assert_array_equal(got, reach.deliver_reference(sending))
    # the kernel's scratch is left clean: a second call gives the same again
    np.testing.assert_array_equal(reach.deliver(sending), got)


def test_gather_equals_sparse_products(model):
    s = model.state
    reach = MemberReach(s.network.layers, s.people.member_ids())
    ids = reach.ids
    mass = ~s.people.member
    values = np.column_stack([mass, mass & s.people.need]).astype(np.float32)
    kind = s.branches.kind[np.maximum(s.people.home_branch[ids], 0)]
    on = member_layers(kind, s.people.dual_registered[ids])
    got = reach.count_masses(on, mass, s.people.need)
    assert got[:, 0].sum() > 0 and got[:, 1].sum() > 0
    np.testing.assert_array_equal(got, reach.gather_reference(values, on))


def test_deliver_follows_membership_changes(model):
    """After a refresh the reach sends from the new members only."""
    s = model.state
    ids = s.people.member_ids()
    reach = MemberReach(s.network.layers, ids)
    half = ids[::2]
    reach.refresh(half)
    sending = {k: np.ones((half.size, 2)) for k in ("work", "residence")}
    np.testing.assert_array_equal(reach.deliver(sending), reach.deliver_reference(sending))


def test_settle_equals_numpy_reference():
    """New needs, hazards, resolved needs, image, coverage: kernel and numpy agree bit for bit."""
    rng = np.random.default_rng(2)
    n = 50_000
    member = rng.random(n) < 0.1
    need = rng.random(n) < 0.3
    private = rng.random(n) < 0.5
    need_rate = (rng.random(n) * 0.6).astype(np.float32)
    share = np.float32(0.4)
    got = rng.random((n, 4)) * (rng.random((n, 4)) < 0.4)
    rate = 1.3
    u = rng.random((3, n), dtype=np.float32)
    x = rng.random(n, dtype=np.float32)
    anchor = rng.random(n, dtype=np.float32)
    last = rng.integers(-1, 10, n).astype(np.int32)
    scalars = tuple(np.float32(v) for v in (0.08, 0.03, 0.001, 1.0 - 0.05))
    expected = service.settle_reference(
        member, need, private, need_rate, share, got, rate, u, 0.7, *scalars, x, anchor, last, 12
    )
    reached, covered, met = np.empty(n, bool), np.empty(n, bool), np.empty(n, bool)
    met_view = np.empty(n)
    need_k, private_k = need.copy(), private.copy()
    x_k, anchor_k, last_k = x.copy(), anchor.copy(), last.copy()
    hit, p_real, p_formal = service.hazards(got, rate)
    # the compaction lists exactly those with hours, in order, then the sentinel
    for c, p in ((0, p_real), (1, p_formal)):
        listed = np.flatnonzero(got[:, c] > 0)
        np.testing.assert_array_equal(hit[c, : listed.size + 1], np.append(listed, n))
        assert p.size == listed.size + 1 and p[-1] == 0.0
    service._settle(
        member, need_k, private_k, need_rate, share, got, hit, p_real, p_formal, u, 0.7,
        *scalars, x_k, anchor_k, last_k, 12, reached, covered, met, met_view,
    )  # fmt: skip
    names = ("need", "private", "x", "anchor", "last_reached", "reached", "covered", "met")
    for name, a, b in zip(
        (*names, "met_view"),
        (need_k, private_k, x_k, anchor_k, last_k, reached, covered, met, met_view),
        expected,
        strict=True,
    ):
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    # every branch of the kernel is exercised: needs arise (some private), end, move the image
    fresh = ~member & ~need & (u[0] < need_rate)
    assert (fresh & private_k & ~private).any() and (fresh & ~private_k & private).any()
    assert (need & ~need_k).any() and (x_k > x).any() and (x_k < x).any() and reached.any()


@pytest.mark.parametrize("blocks", [1, 2, 3, 7])
def test_enculturation_step_equals_numpy_reference(model, blocks):
    """The fused week of influence, bounded confidence and open-activity pull, with the ties
    read in one pass or in passes over blocks of columns (as for 1,000,000 people)."""
    from sim.mechanisms import enculturation

    s, p, pol = model.state, model.params, model.policy
    assert p.confidence < 1.0 and s.people.met.any()
    n = s.people.n
    op = enculturation.BoundedConfidenceOperator(model.ops.influence.adjacency, blocks=blocks)
    assert op.column_blocks(np.float32)[0].shape == (blocks, n + 1)
    before = s.people.identification.copy()
    expected = enculturation.step_reference(s, p, pol, op)
    enculturation.step(s, p, pol, op)
    got = s.people.identification
    assert got.dtype == np.float32
    assert not np.array_equal(got, before)
    np.testing.assert_array_equal(got, expected)
    s.people.identification = before  # leave the shared model as it was


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_column_blocks_regroup_every_row_in_order(index_dtype):
    """Each block holds the ties in its columns, and a row's blocks in turn are the row."""
    from scipy import sparse

    from sim.mechanisms.enculturation import _column_blocks

    rng = np.random.default_rng(8)
    n = 500
    a = sparse.random_array((n, n), density=0.02, format="csr", rng=rng, dtype=np.float32)
    a = sparse.csr_array(sparse.diags_array((rng.random(n) < 0.8).astype(np.float32)) @ a)
    a.eliminate_zeros()  # some rows without ties
    a.indptr, a.indices = a.indptr.astype(index_dtype), a.indices.astype(index_dtype)
    a.sort_indices()
    limits = np.array([0, 130, 131, 400, n], index_dtype)  # an empty block, a one-column block
    ptr, idx, data = _column_blocks(a.indptr, a.indices, a.data, limits)
    assert ptr.shape == (5, n + 1) and ptr[0, 0] == 0 and ptr[-1, -1] == a.nnz
    assert idx.dtype == a.indices.dtype and data.dtype == a.data.dtype
    lower = np.concatenate([[0], limits[:-1]])
    for b in range(5):
        cols = idx[ptr[b, 0] : ptr[b, n]]
        assert ((cols >= lower[b]) & (cols < limits[b])).all()
        if b:
            assert ptr[b, 0] == ptr[b - 1, n]
    for i in range(n):
        row = np.concatenate([idx[ptr[b, i] : ptr[b, i + 1]] for b in range(5)])
        vals = np.concatenate([data[ptr[b, i] : ptr[b, i + 1]] for b in range(5)])
        np.testing.assert_array_equal(row, a.indices[a.indptr[i] : a.indptr[i + 1]])
        np.testing.assert_array_equal(vals, a.data[a.indptr[i] : a.indptr[i + 1]])
    assert (np.diff(a.indptr) == 0).any()


def test_column_blocks_for_sizes():
    """One block while x fits BLOCK_BYTES; two beyond (1,000,000 and 5,000,000 people)."""
    from sim.mechanisms.enculturation import BLOCK_BYTES, column_blocks_for

    assert column_blocks_for(100_000, 4) == 1
    assert column_blocks_for(BLOCK_BYTES // 4, 4) == 1
    assert column_blocks_for(BLOCK_BYTES // 4 + 1, 4) == 2
    assert column_blocks_for(1_000_000, 4) == column_blocks_for(5_000_000, 4) == 2


def test_column_blocks_must_be_positive():
    from scipy import sparse

    from sim.mechanisms.enculturation import BoundedConfidenceOperator

    with pytest.raises(ValueError, match="blocks: 0; allowed"):
        BoundedConfidenceOperator(sparse.csr_array(np.ones((3, 3))), blocks=0)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_weighted_sum_equals_scipy_sum(index_dtype):
    """The merged layers: same pattern, same float32 values as scipy's sum of scaled layers."""
    from scipy import sparse

    from sim.sparse import weighted_sum

    rng = np.random.default_rng(4)
    n = 2_000
    layers = []
    for density in (0.003, 0.001, 0.0):  # the last layer empty: rows with no tie at all
        a = sparse.random_array((n, n), density=density, rng=rng, format="csr", dtype=np.float32)
        a = (a + a.T).tocsr()
        a.data[:] = 1.0
        a.indices = a.indices.astype(index_dtype)
        a.indptr = a.indptr.astype(index_dtype)
        layers.append(a)
    layers[2] = sparse.csr_array(layers[0][:, ::-1])  # overlaps the first layer in places
    layers[2].sort_indices()
    assert all(a.has_canonical_format for a in layers)
    weights = [1.0, 0.7, 0.5]
    ref = (weights[0] * layers[0] + weights[1] * layers[1] + weights[2] * layers[2]).tocsr()
    got = weighted_sum(layers, weights)
    assert got.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(got.indptr, ref.indptr)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.data, ref.data)
    assert len(set(np.round(got.data, 4))) >= 4  # single, double and triple ties present


@pytest.mark.parametrize("empty", [0, 1, 2])
def test_weighted_sum_with_an_empty_layer_and_uneven_values(empty):
    """Any one layer empty (the merge loads a row's head unconditionally: it must not read an
    empty layer), values other than 1: still scipy's sum bit for bit."""
    from scipy import sparse

    from sim.sparse import weighted_sum

    rng = np.random.default_rng(5 + empty)
    n = 1_500
    layers = []
    for k in range(3):
        density = 0.0 if k == empty else 0.004
        a = sparse.random_array((n, n), density=density, rng=rng, format="csr", dtype=np.float32)
        a.data[:] = rng.uniform(0.1, 3.0, a.nnz).astype(np.float32)  # positive, uneven
        a.sort_indices()
        layers.append(a)
    assert layers[empty].nnz == 0
    weights = [0.9, 0.35, 1.7]
    ref = (weights[0] * layers[0] + weights[1] * layers[1] + weights[2] * layers[2]).tocsr()
    ref.sort_indices()
    got = weighted_sum(layers, weights)
    np.testing.assert_array_equal(got.indptr, ref.indptr)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.data.view(np.int32), ref.data.view(np.int32))


def test_drop_people_and_add_ties_equal_scipy():
    """Moving workers: ties dropped and added give scipy's matrices exactly."""
    from scipy import sparse

    from sim.network import add_ties, drop_people, symmetric_adjacency

    rng = np.random.default_rng(8)
    n = 20_000
    a = symmetric_adjacency(rng.integers(0, n, 80_000), rng.integers(0, n, 80_000), n)
    gone = rng.random(n) < 0.05
    keep = ~gone[a.indices] & np.repeat(~gone, np.diff(a.indptr))
    kept = np.r_[0, np.cumsum(keep)]
    ref = sparse.csr_array((a.data[keep], a.indices[keep], kept[a.indptr]), shape=a.shape)
    dropped = drop_people(a, gone)
    assert dropped.nnz == ref.nnz < a.nnz
    for x, y in ((dropped.indptr, ref.indptr), (dropped.indices, ref.indices)):
        np.testing.assert_array_equal(x, y)
    rows, cols = rng.integers(0, n, 500), rng.integers(0, n, 500)
    ref_added = sparse.csr_array(ref + symmetric_adjacency(rows, cols, n))
    ref_added.data[:] = 1.0
    added = add_ties(dropped, rows, cols)
    assert added.nnz > dropped.nnz
    for x, y in ((added.indptr, ref_added.indptr), (added.indices, ref_added.indices)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(added.data, ref_added.data)


def test_weighted_sum_update_equals_full_sum(model):
    """After people move, the influence rebuilt from the previous one equals a full rebuild."""
    from sim.network import add_ties, drop_people
    from sim.sparse import weighted_sum

    layers = model.state.network.layers
    old = [layers["work"], layers["residence"], layers["online"]]
    weights = [1.0, 1.0, 0.5]
    before = weighted_sum(old, weights)
    rng = np.random.default_rng(9)
    n = old[0].shape[0]
    gone = rng.random(n) < 0.02
    work = add_ties(drop_people(old[0], gone), rng.integers(0, n, 50), rng.integers(0, n, 50))
    online = add_ties(old[2], rng.integers(0, n, 30), rng.integers(0, n, 30))
    new = [work, old[1], online]
    full = weighted_sum(new, weights)
    updated = weighted_sum(new, weights, previous=(before, old))
    assert full.nnz != before.nnz
    for x, y in ((updated.indptr, full.indptr), (updated.indices, full.indices)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(updated.data, full.data)


def test_influence_after_moves_equals_a_full_rebuild():
    """Operators rebuilt from the rows that changed (workers moving, retiring, new online
    ties) hold the same influence matrix as one summed afresh from the current layers."""
    from sim.sparse import weighted_sum

    cfg = sim.load_config(
        ["model.people=3000", "model.platform_shift=0.2", "model.social_change_every=3"]
    )
    m = sim.PartyBuildingModel.from_config(cfg, rng=3)
    version = m.state.network.version
    m.run_for(30)
    assert m.state.network.version > version + 5  # ties changed many times
    layers = m.state.network.layers
    p = m.params
    full = weighted_sum(
        [layers["work"], layers["residence"], layers["online"]],
        [p.weight_work, p.weight_residence, p.weight_online],
    )
    got = m.ops.influence.adjacency
    for x, y in ((got.indptr, full.indptr), (got.indices, full.indices), (got.data, full.data)):
        np.testing.assert_array_equal(x, y)
    # the row sums and the members' rows, carried over where ties did not change, too
    np.testing.assert_array_equal(m.ops.influence.degree, np.asarray(full.sum(axis=1)).ravel())
    fresh = MemberReach(layers, m.state.people.member_ids())
    np.testing.assert_array_equal(m.ops.reach.ids, fresh.ids)
    for k in layers:
        for x, y in zip(m.ops.reach._rows[k], fresh._rows[k], strict=True):
            np.testing.assert_array_equal(x, y, err_msg=k)


def test_org_reports_through_the_relay_equal_the_full_sums():
    from sim.mechanisms.sensing import org_reports

    cfg = sim.load_config(["model.people=3000", "policy=openness"])
    m = sim.PartyBuildingModel.from_config(cfg, rng=2)
    m.run_for(3)
    s = m.state
    args = (s.orgs.members, s.orgs.partnered, s.hierarchy.community_branch[s.orgs.community])
    full = org_reports(*args, s.people.need, s.branches.n)
    relayed = org_reports(*args, s.people.need, s.branches.n, m.ops.bridge)
    assert np.isfinite(full).any()
    np.testing.assert_array_equal(relayed, full)


def test_member_sending_equals_numpy_reference(model):
    s = model.state
    ids = s.people.member_ids()
    got = service.member_sending(s.people, s.branches, model.params, ids)
    expected = service.member_sending_reference(s.people, s.branches, model.params, ids)
    assert list(got) == list(expected) == ["work", "residence", "online"]
    for layer in got:
        assert got[layer].shape == (ids.size, 4)
        np.testing.assert_array_equal(got[layer], expected[layer], err_msg=layer)
    # senders of real hours on two layers, and dual-registered members moving hours
    assert got["work"][:, 0].sum() > 0 and got["residence"][:, 0].sum() > 0
    assert (s.people.dual_registered[ids] & (s.people.home_branch[ids] >= 0)).any()


@pytest.mark.parametrize("mutual", [True, False])
def test_member_week_equals_numpy_reference(mutual):
    """Members' life, load and overload: the compiled pass gives the numpy arrays exactly, with
    dual registration duplicated (no mutual recognition) or not, and with members floating."""
    from sim.mechanisms.commitment import MemberWeek, member_week_reference

    cfg = sim.load_config(
        ["model.people=3000", "policy=four_dimensions", f"policy.mutual_recognition={mutual}"]
    )
    m = sim.PartyBuildingModel.from_config(cfg, rng=7)
    m.run_for(8)
    s = m.state
    ids = s.people.member_ids()
    s.people.home_branch[ids[::17]] = -1  # some floating members
    got = MemberWeek(s, m.params, m.policy, ids)
    ref = member_week_reference(s, m.params, m.policy, ids)
    assert ref["dual"].any() and ref["engaged"].any() and not ref["has"].all()
    assert (ref["overload"] > 0).any()
    for name, expected in ref.items():
        value = getattr(got, name)
        assert value.dtype == expected.dtype, name
        np.testing.assert_array_equal(value, expected, err_msg=name)


def test_application_chance_equals_numpy_reference(model):
    """The masses' weekly chance to apply: the compiled pass gives numpy's float32 values."""
    from sim.mechanisms.recruitment import application_chance, masses_application_chance

    people, p = model.state.people, model.params
    x = people.identification
    weight = model.ops.weights[0]
    assert x.dtype == weight.dtype == np.float32
    args = (np.float32(p.recruit_threshold), np.float32(p.apply_rate * 2000))  # some capped at 1
    got = masses_application_chance(x, *args, weight, people.member)
    expected = application_chance(x, *args, weight)
    expected[people.member] = 0.0
    assert got.dtype == expected.dtype == np.float32
    assert (expected == 1.0).any() and ((expected > 0) & (expected < 1)).any()
    np.testing.assert_array_equal(got, expected)
    # the numpy path (other dtypes) gives the same values in float64
    wide = masses_application_chance(x.astype(float), *args, weight.astype(float), people.member)
    assert wide.dtype == np.float64 and (wide[people.member] == 0).all()


@pytest.mark.parametrize("share", [0.0, 0.07, 0.5, 1.0])
def test_true_positions_equal_flatnonzero(share):
    """The members' ids, compiled, are numpy's ``flatnonzero``: values, dtype and order."""
    from sim.state import true_positions

    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 100_003):
        mask = rng.random(n) < share
        got = true_positions(mask)
        assert got.dtype == np.int64 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, np.flatnonzero(mask))
    strided = (rng.random(2_001) < share)[::3]  # a view with a stride
    np.testing.assert_array_equal(true_positions(strided), np.flatnonzero(strided))
