"""Gossip topologies and the gossip algorithms (dsgd, dsgdm, qgm) on tiny least-squares problems."""
from __future__ import annotations

import pytest
import torch

from tests.decentralized_helpers import LeastSquares, StandInComm, assert_close, run
from training.algorithms.base import BYTES_DENSE
from training.algorithms.gossip import DSGD, QGM, DSGDm
from training.topology import TOPOLOGIES, degrees, mixing_matrix, neighbours, spectral_gap, torus_shape

CASES = [("complete", 5, {}), ("ring", 1, {}), ("ring", 2, {}), ("ring", 7, {}), ("torus", 6, {}),
         ("torus", 16, {}), ("torus", 12, {"rows": 2}), ("exponential", 6, {}), ("exponential", 8, {}),
         ("social", 32, {})]


@pytest.mark.parametrize("name,k,opts", CASES)
def test_mixing_matrix_symmetric_doubly_stochastic_connected(name, k, opts):
    W = mixing_matrix(name, k, **opts)
    assert W.shape == (k, k) and (W >= 0).all()
    assert torch.equal(W, W.T)
    assert torch.allclose(W.sum(0), torch.ones(k, dtype=W.dtype))
    assert torch.allclose(W.sum(1), torch.ones(k, dtype=W.dtype))
    assert spectral_gap(W) > 0                          # connected: gossip reaches consensus


def test_every_topology_is_covered():
    assert {c[0] for c in CASES} == set(TOPOLOGIES)


def test_graph_shapes_and_weights():
    ring = mixing_matrix("ring", 5)
    assert neighbours(ring, 0) == [1, 4] and torch.allclose(ring[0, [0, 1, 4]], torch.full((3,), 1 / 3).double())
    assert torus_shape(12) == (3, 4) and torus_shape(7) == (1, 7) and torus_shape(12, rows=2) == (2, 6)
    assert neighbours(mixing_matrix("torus", 16), 5) == [1, 4, 6, 9]
    assert neighbours(mixing_matrix("exponential", 8), 0) == [1, 2, 4, 6, 7]
    complete = mixing_matrix("complete", 4)
    assert torch.allclose(complete, torch.full((4, 4), 0.25).double()) and spectral_gap(complete) == pytest.approx(1)
    assert spectral_gap(mixing_matrix("ring", 16)) < spectral_gap(mixing_matrix("exponential", 16))
    social = mixing_matrix("social", 32)
    assert degrees(social).sum() == 2 * 89                # Davis Southern Women: 89 attendances
    # Metropolis-Hastings: w_ij = 1 / (1 + max(d_i, d_j)) on an edge
    d = degrees(social)
    i, j = 0, neighbours(social, 0)[0]
    assert social[i, j] == pytest.approx(1 / (1 + max(d[i], d[j])))


def test_topology_errors_say_what_to_do():
    with pytest.raises(ValueError, match=r"k=10.*num_partitions=32"):
        mixing_matrix("social", 10)
    with pytest.raises(ValueError, match="unknown topology 'star'"):
        mixing_matrix("star", 4)
    with pytest.raises(ValueError, match="rows=4 does not divide k=6"):
        mixing_matrix("torus", 6, rows=4)
    with pytest.raises(ValueError, match="does not take"):
        mixing_matrix("ring", 6, rows=2)


def test_complete_graph_gossip_is_the_average_every_step():
    prob = LeastSquares(5)
    params = prob.params()
    algo = DSGD(params, StandInComm(5), topology=mixing_matrix("complete", 5), weight_decay=0.0)
    for it in range(4):
        grads = prob.grads(params)
        expected = [(p - 0.05 * g).mean(0, keepdim=True).expand_as(p) for p, g in zip(params, grads)]
        algo.step(grads, 0.05, it)
        for p, e in zip(params, expected):
            assert_close(p, e)


@pytest.mark.parametrize("nesterov", [False, True])
def test_one_node_is_plain_sgd(nesterov):
    # the reference is torch.optim.SGD's documented rule (b <- μ b + g; g <- g + μ b if nesterov else b),
    # written out: importing torch.optim costs seconds
    prob = LeastSquares(1)
    params, plain = prob.params(), prob.params()
    ref, buf = prob.params(), [torch.zeros_like(x) for x in prob.x0]
    one = mixing_matrix("ring", 1)
    dsgd = DSGD(plain, StandInComm(1), topology=one, weight_decay=1e-3)
    dsgdm = DSGDm(params, StandInComm(1), topology=one, nesterov=nesterov, momentum=0.9, weight_decay=1e-3)
    for it in range(6):
        grads = [g + 1e-3 * r for r, g in zip(ref, prob.grads(ref))]
        for b, g in zip(buf, grads):
            b.mul_(0.9).add_(g)
        ref = [r - 0.05 * (g + 0.9 * b if nesterov else b) for r, g, b in zip(ref, grads, buf)]
        expected_plain = [p - 0.05 * (g + 1e-3 * p) for p, g in zip(plain, prob.grads(plain))]
        dsgd.step(prob.grads(plain), 0.05, it)
        dsgdm.step(prob.grads(params), 0.05, it)
        for p, r in zip(params, ref):
            assert_close(p, r)
        for p, e in zip(plain, expected_plain):
            assert_close(p, e)


@pytest.mark.parametrize("nesterov", [False, True])
def test_qgm_without_momentum_is_dsgd(nesterov):
    prob = LeastSquares(6)
    a, b = prob.params(), prob.params()
    dsgd = DSGD(a, StandInComm(6), topology=mixing_matrix("ring", 6))
    qgm = QGM(b, StandInComm(6), topology=mixing_matrix("ring", 6), momentum=0.0, nesterov=nesterov)
    for it in range(8):
        dsgd.step(prob.grads(a), 0.05, it)
        qgm.step(prob.grads(b), 0.05, it)
        for x, y in zip(a, b):
            assert torch.equal(x, y)


def test_qgm_buffer_tracks_the_displacement_including_gossip():
    prob = LeastSquares(4)
    params = prob.params()
    algo = QGM(params, StandInComm(4), topology=mixing_matrix("ring", 4), momentum=0.9, weight_decay=0.0)
    before = [p.clone() for p in params]
    grads = prob.grads(params)
    algo.step(grads, 0.1, 0)
    W = algo.W
    for p, x0, g, m in zip(params, before, grads, algo.mom):
        assert_close(p, W @ (x0 - 0.1 * g))            # m̂ = 0: the first step is D-PSGD's
        assert_close(m, 0.1 * (x0 - p) / 0.1)          # (1 - μ)(x - x') / lr, μ = β = 0.9
    before = [p.clone() for p in params]
    m_prev = [m.clone() for m in algo.mom]
    grads = prob.grads(params)
    algo.step(grads, 0.1, 1)
    for p, x0, g, m0, m in zip(params, before, grads, m_prev, algo.mom):
        assert_close(p, W @ (x0 - 0.1 * (g + 0.9 * m0)))
        assert_close(m, 0.9 * m0 + 0.1 * (x0 - p) / 0.1)


def test_gossip_bytes_every_gossip_step_per_neighbour():
    prob = LeastSquares(32, sizes=(4, 3))
    algo = DSGD(prob.params(), StandInComm(32), topology=mixing_matrix("social", 32), gossip_every=3)
    sent = run(algo, prob, algo.params, 7)
    deg = degrees(mixing_matrix("social", 32)).float()
    for it in range(7):
        expected = deg * BYTES_DENSE * 7 if (it + 1) % 3 == 0 else torch.zeros(32)
        assert torch.equal(sent[it], expected)
    ring = DSGD(LeastSquares(5).params(), StandInComm(5), topology=mixing_matrix("ring", 5))
    assert torch.equal(ring.step(LeastSquares(5).grads(ring.params), 0.1, 0), torch.full((5,), 2.0 * 4 * 5))


def test_a_process_counts_its_own_rows():
    # under torch.distributed a process holds one row; its bytes follow its own degree
    W = mixing_matrix("social", 32)
    for rank in (0, 7, 31):
        algo = DSGD([torch.zeros(1, 3)], StandInComm(32, rank=rank), topology=mixing_matrix("social", 32))
        assert algo.degree.tolist() == [len(neighbours(W, rank))]


def test_gossip_every_is_the_knob():
    prob = LeastSquares(4)
    algo = DSGD(prob.params(), StandInComm(4), topology=mixing_matrix("ring", 4), gossip_every=4)
    assert algo.knob == "gossip_every" and algo.knob_grid == (1, 2, 4, 8, 16)
    assert algo.syncs_at(-1) and algo.steps_to_sync() == 4
    run(algo, prob, algo.params, 1)
    assert not algo.syncs_at(0) and algo.steps_to_sync() == 3
    algo.set_knob(2)
    run(algo, prob, algo.params, 1, start=1)
    assert algo.syncs_at(1) and algo.get_knob() == 2
    state = algo.state_dict()
    again = DSGD(prob.params(), StandInComm(4), topology=mixing_matrix("ring", 4))
    again.load_state_dict(state)
    assert again.gossip_every == 2 and again.steps_to_sync() == 2


def test_a_given_matrix_is_checked():
    W = mixing_matrix("ring", 4)
    algo = DSGD([torch.zeros(4, 2)], StandInComm(4), topology=W)
    assert torch.equal(algo.W, W.float())
    with pytest.raises(ValueError, match=r"must be \[4, 4\]"):
        DSGD([torch.zeros(4, 2)], StandInComm(4), topology=torch.eye(3))
    with pytest.raises(ValueError, match="summing to 1"):
        DSGD([torch.zeros(4, 2)], StandInComm(4), topology=torch.ones(4, 4))


# ---- wired into the trainer: [topology], BN statistics under gossip, torch.distributed ------------------------
TRAIN = {"data": {"name": "digits", "test_fraction": 0.25},
         "partition": {"name": "label-exclusive", "num_partitions": 4},
         "model": {"name": "test_lenet_gn"}, "algorithm": {"name": "qgm"},
         "solver": {"lr": 0.05, "batch_size": 8, "iterations": 6}, "run": {"seed": 0, "eval_every": 3}}


def train_cfg(**sections):
    import copy

    c = copy.deepcopy(TRAIN)
    for k, v in sections.items():
        c[k] = {**c.get(k, {}), **v}
    return c


def test_topology_section_becomes_the_algorithms_mixing_matrix():
    from catalog.errors import UserError
    from training.config import parse_config
    from training.trainer import Trainer

    t = Trainer(parse_config(train_cfg(partition={"num_partitions": 8}, topology={"name": "torus", "rows": 2})),
                "/nonexistent")
    assert torch.equal(t.algo.W, mixing_matrix("torus", 8, rows=2).float())
    ring = Trainer(parse_config(train_cfg()), "/nonexistent").algo.W
    assert torch.equal(ring, mixing_matrix("ring", 4).float())  # default
    with pytest.raises(UserError, match=r"^\[topology\] unknown key 'row'; valid keys: name, rows$"):
        parse_config(train_cfg(topology={"name": "torus", "row": 2}))
    with pytest.raises(UserError, match=r"^\[topology\] Unknown topology 'star'; topologies: complete, "):
        parse_config(train_cfg(topology={"name": "star"}))
    with pytest.raises(UserError, match=r"^\[topology\] is for the gossip algorithms \(dsgd, dsgdm, qgm\)"):
        parse_config(train_cfg(algorithm={"name": "fedavg"}, topology={"name": "ring"}))
    with pytest.raises(UserError, match=r"^\[algorithm\] unknown key 'topology'"):
        parse_config(train_cfg(algorithm={"name": "dsgd", "topology": "ring"}))
    with pytest.raises(UserError, match=r"^\[topology\] .*num_partitions=32"):
        Trainer(parse_config(train_cfg(topology={"name": "social"})), "/nonexistent")


def test_shared_bn_statistics_are_gossiped_with_w_not_averaged_over_all(tmp_path):
    """Under gossip BN running statistics travel like the model: to the neighbours, mixed with W, and counted."""
    from training.config import parse_config
    from training.trainer import Trainer

    t = Trainer(parse_config(train_cfg(model={"name": "test_lenet_bn"}, algorithm={"name": "dsgd"},
                                       solver={"iterations": 1})), tmp_path)
    L = t.replicas.count
    before = [b.view(L, -1).clone() for b in t.replicas.buffers]
    model_bytes = sum(p.view(L, -1).shape[1] for p in t.replicas.params) * BYTES_DENSE
    buffers = [b.view(L, -1) for b in t.replicas.buffers]
    sent = t.algo.sync_buffers(buffers, t.replicas.buffer_bytes)
    for b0, b in zip(before, buffers):
        assert_close(b.double(), (t.algo.W.double() @ b0.double()), rtol=1e-5, atol=1e-6)
    assert torch.equal(sent, torch.full((L,), 2.0 * t.replicas.buffer_bytes))        # ring: two neighbours each
    rows = t.run(resume=False)
    stats = torch.cat([b.view(L, -1) for b in t.replicas.buffers], 1)
    assert not torch.allclose(stats[0], stats[1])           # a global mean would have made every row equal
    assert rows[-1]["bytes"] == 4 * 2 * (model_bytes + t.replicas.buffer_bytes)


@pytest.mark.slow
def test_qgm_on_a_ring_simulator_equals_three_gloo_ranks(tmp_path):
    """The simulator's W @ x against point-to-point gossip between 3 torch.distributed (gloo) processes."""
    from training.runner import run_training

    c = train_cfg(partition={"name": "iid", "num_partitions": 3}, solver={"iterations": 30, "lr": 0.1, "lr_steps": []},
                  run={"eval_every": 15}, topology={"name": "ring"})
    sim = run_training(c, tmp_path / "sim", resume=False)
    assert sim[-1]["acc_mean"] > 0.2                        # it learned (chance is 0.1): the comparison means something
    c["run"]["backend"] = "dist"
    dist = run_training(c, tmp_path / "dist", resume=False)
    assert len(sim) == len(dist) == 2
    for a, b in zip(sim, dist):
        assert max(abs(x - y) for x, y in zip(a["acc"], b["acc"])) <= 0.02
        assert abs(a["bytes"] - b["bytes"]) <= 0.01 * a["bytes"] and a["bytes"] > 0
    print(f"\nsim acc {sim[-1]['acc']} bytes {sim[-1]['bytes']:.0f}; dist acc {dist[-1]['acc']} "
          f"bytes {dist[-1]['bytes']:.0f}")


@pytest.mark.slow
def test_skewscout_drives_the_gossip_period(tmp_path):
    """gossip_every is the knob: SkewScout measures before a gossip step and moves it along DSGD's grid."""
    from training.runner import run_training

    c = train_cfg(algorithm={"name": "qgm", "gossip_every": 2}, solver={"iterations": 40}, run={"eval_every": 10},
                  skewscout={"enabled": True, "travel_every": 4, "sample_size": 50})
    rows = run_training(c, tmp_path, resume=False)
    knobs = [r["knob"] for r in rows]
    assert set(knobs) <= set(QGM.knob_grid) and len(set(knobs)) > 1 and rows[-1]["bytes_travel"] > 0
