"""Remedies for label skew on top of FedAvg: FedProx (mu = 0 is FedAvg) and SCAFFOLD (option II control
variates that sum to zero and vanish on IID data; 2x FedAvg's bytes)."""
from __future__ import annotations

import pytest
import torch

from tests.decentralized_helpers import LeastSquares, StandInComm, assert_close, run
from training.algorithms.base import BYTES_DENSE
from training.algorithms.fedavg import FedAvg
from training.algorithms.fedprox import FedProx
from training.algorithms.scaffold import Scaffold


def test_fedprox_without_mu_is_fedavg_exactly():
    prob = LeastSquares(4)
    a, b = prob.params(), prob.params()
    fedavg = FedAvg(a, StandInComm(4), iter_local=3)
    fedprox = FedProx(b, StandInComm(4), iter_local=3, mu=0.0)
    for algo in (fedavg, fedprox):
        algo.end_iteration = 10
    for it in range(10):
        assert torch.equal(fedavg.step(prob.grads(a), 0.05, it), fedprox.step(prob.grads(b), 0.05, it))
        for x, y in zip(a, b):
            assert torch.equal(x, y)


def test_fedprox_pulls_towards_the_rounds_global_model():
    prob = LeastSquares(4)
    params = prob.params()
    algo = FedProx(params, StandInComm(4), iter_local=4, mu=0.5, momentum=0.0, weight_decay=0.0)
    start = [p.clone() for p in params]
    grads = prob.grads(params)
    algo.step(grads, 0.1, 0)                               # at the anchor the proximal term is zero
    for p, x0, g in zip(params, start, grads):
        assert_close(p, x0 - 0.1 * g)
    before, grads = [p.clone() for p in params], prob.grads(params)
    algo.step(grads, 0.1, 1)
    for p, x0, g, w in zip(params, before, grads, start):
        assert_close(p, x0 - 0.1 * (g + 0.5 * (x0 - w)))
    run(algo, prob, params, 2, lr=0.1, start=2)            # the round ends: the average is the new anchor
    for p, w in zip(params, algo.global_params):
        assert torch.equal(p, w) and torch.allclose(p, p[:1].expand_as(p))


def spread(params):
    return sum(float((p - p.mean(0)).norm()) for p in params)


def test_fedprox_drifts_less_than_fedavg_on_skewed_data():
    prob = LeastSquares(4, skew=True)
    a, b = prob.params(), prob.params()
    fedavg = FedAvg(a, StandInComm(4), iter_local=20, momentum=0.0)
    fedprox = FedProx(b, StandInComm(4), iter_local=20, mu=1.0, momentum=0.0)
    run(fedavg, prob, a, 19, lr=0.05)
    run(fedprox, prob, b, 19, lr=0.05)
    assert spread(b) < 0.8 * spread(a)


def test_scaffold_option_two_and_the_variates_sum_to_zero():
    K, lr, steps = 4, 0.05, 5
    prob = LeastSquares(K, skew=True)
    params = prob.params()
    algo = Scaffold(params, StandInComm(K), iter_local=steps, momentum=0.0, weight_decay=1e-3)
    x0 = [p.clone() for p in params]
    run(algo, prob, params, steps - 1, lr=lr)
    before, grads = [p.clone() for p in params], prob.grads(params)
    y = [p - lr * (g + 1e-3 * p) for p, g in zip(before, grads)]      # c = c_i = 0 in the first round
    sent = algo.step(grads, lr, steps - 1)
    for p, yi, x, ci, c in zip(params, y, x0, algo.c_local, algo.c_global):
        assert_close(p, yi.mean(0, keepdim=True).expand_as(p))   # FedAvg's average
        assert_close(ci, (x - yi) / (steps * lr))                 # option II: (x - y_i) / (K η)
        assert_close(c, ci.mean(0, keepdim=True).expand_as(c))
    assert torch.equal(sent, torch.full((K,), 2.0 * 5 * BYTES_DENSE))            # model + Δc_i
    run(algo, prob, params, 3 * steps, lr=lr, start=steps)
    for ci, c in zip(algo.c_local, algo.c_global):
        assert_close((c - ci).sum(0), torch.zeros(ci.shape[1], dtype=ci.dtype))
        assert (c - ci).abs().max() > 1e-2                 # skewed data: the corrections are not trivial


def corrections(prob):
    params = prob.params()
    algo = Scaffold(params, StandInComm(prob.K), iter_local=5, momentum=0.9)
    run(algo, prob, params, 10, lr=0.02)
    return sum(float((c - ci).norm()) for ci, c in zip(algo.c_local, algo.c_global))


def test_scaffold_variates_vanish_on_iid_data():
    assert corrections(LeastSquares(4, same_data=True, skew=False)) < 1e-10
    iid, skewed = corrections(LeastSquares(4, skew=False, m=400)), corrections(LeastSquares(4, skew=True, m=400))
    assert iid < 0.1 * skewed


def test_scaffold_removes_client_drift():
    # many local steps on skewed least squares: FedAvg's fixed point is off the optimum, SCAFFOLD's is on it
    prob = LeastSquares(4, skew=True)
    opt = prob.optimum()
    a, b = prob.params(), prob.params()
    fedavg = FedAvg(a, StandInComm(4), iter_local=10, momentum=0.0, weight_decay=0.0)
    scaffold = Scaffold(b, StandInComm(4), iter_local=10, momentum=0.0, weight_decay=0.0)
    run(fedavg, prob, a, 400, lr=0.05)
    run(scaffold, prob, b, 400, lr=0.05)
    error = [float((torch.cat(p, 1)[0] - opt).norm()) for p in (a, b)]
    assert error[1] < 1e-3 < error[0]


def test_scaffold_bytes_and_resume():
    prob = LeastSquares(3)
    params = prob.params()
    algo = Scaffold(params, StandInComm(3), iter_local=2)
    fed = FedAvg(prob.params(), StandInComm(3), iter_local=2)
    sent, fed_sent = run(algo, prob, params, 4), run(fed, prob, fed.params, 4)
    assert torch.equal(sent, 2 * fed_sent) and sent[0].eq(0).all()
    again = Scaffold(prob.params(), StandInComm(3), iter_local=2)
    again.load_state_dict(algo.state_dict())
    for mine, theirs in zip(again.c_local, algo.c_local):
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize("bad", [-0.1])
def test_fedprox_rejects_a_negative_mu(bad):
    with pytest.raises(ValueError, match="mu must be >= 0"):
        FedProx([torch.zeros(2, 2)], StandInComm(2), mu=bad)
