"""Bounded staleness (ssp): s = 0 is BSP exactly; a delay of s applies the others' gradients s iterations
late; every gradient arrives once, within s iterations."""
from __future__ import annotations

import pytest
import torch

from tests.decentralized_helpers import LeastSquares, StandInComm, assert_close
from training.algorithms.base import BYTES_DENSE
from training.algorithms.bsp import BSP
from training.algorithms.ssp import SSP


@pytest.mark.parametrize("delay", ["fixed", "random"])
def test_no_staleness_is_bsp_exactly(delay):
    prob = LeastSquares(5)
    a, b = prob.params(), prob.params()
    bsp = BSP(a, StandInComm(5), momentum=0.9, weight_decay=5e-4)
    ssp = SSP(b, StandInComm(5), staleness=0, delay=delay, momentum=0.9, weight_decay=5e-4)
    for it in range(10):
        sa = bsp.step(prob.grads(a), 0.05, it)
        sb = ssp.step(prob.grads(b), 0.05, it)
        assert torch.equal(sa, sb)
        for x, y in zip(a, b):
            assert torch.equal(x, y)


def test_fixed_delay_applies_the_others_gradients_s_late():
    K, s, lr, beta, wd = 4, 2, 0.05, 0.9, 1e-3
    prob = LeastSquares(K)
    params = prob.params()
    algo = SSP(params, StandInComm(K), staleness=s, momentum=beta, weight_decay=wd)
    x = [p.clone() for p in params]                       # a reference, loop by loop
    mom = [torch.zeros_like(p) for p in params]
    history = []
    for it in range(8):
        g = [gi + wd * xi for gi, xi in zip(prob.grads(x), x)]
        history.append(g)
        old = history[it - s] if it >= s else [torch.zeros_like(t) for t in g]
        for j in range(len(x)):
            seen = torch.stack([(g[j][i] + sum(old[j][k] for k in range(K) if k != i)) / K for i in range(K)])
            mom[j] = beta * mom[j] + seen
            x[j] = x[j] - lr * mom[j]
        algo.step(prob.grads(params), lr, it)
        for p, r in zip(params, x):
            assert_close(p, r)


@pytest.mark.parametrize("delay", ["fixed", "random"])
def test_every_gradient_arrives_once_within_the_bound(delay):
    # gradients that do not depend on the model, no momentum: after the last ones have had s iterations to
    # arrive, every replica has moved by exactly BSP's total
    K, s, T, lr = 5, 3, 12, 0.1
    gen = torch.Generator().manual_seed(1)
    grads = [torch.randn(K, 4, generator=gen, dtype=torch.float64) for _ in range(T)]
    x = torch.zeros(K, 4, dtype=torch.float64)
    algo = SSP([x], StandInComm(K), staleness=s, delay=delay, seed=3, momentum=0.0, weight_decay=0.0)
    for it in range(T + s):
        algo.step([grads[it] if it < T else torch.zeros(K, 4, dtype=torch.float64)], lr, it)
        if it == T - 1:
            assert not torch.allclose(x, x[:1].expand_as(x))     # replicas differ while updates are in flight
    total = -lr * sum(g.mean(0) for g in grads)
    assert_close(x, total.expand_as(x))


def test_random_delays_are_seeded_and_bounded():
    comm = StandInComm(6)
    a = SSP([torch.zeros(6, 2)], comm, staleness=4, delay="random", seed=7)
    b = SSP([torch.zeros(6, 2)], comm, staleness=4, delay="random", seed=7)
    c = SSP([torch.zeros(6, 2)], comm, staleness=4, delay="random", seed=8)
    d = a.delays(5)
    assert torch.equal(d, b.delays(5)) and not torch.equal(d, c.delays(5)) and not torch.equal(d, a.delays(6))
    assert d.min() >= 0 and d.max() <= 4 and d.diagonal().eq(0).all() and len(d.unique()) > 2
    assert SSP([torch.zeros(6, 2)], comm, staleness=4).delays(0).fill_diagonal_(4).eq(4).all()


def test_bytes_are_bsps_and_errors():
    prob = LeastSquares(3, sizes=(3, 2))
    algo = SSP(prob.params(), StandInComm(3), staleness=2)
    assert torch.equal(algo.step(prob.grads(algo.params), 0.1, 0), torch.full((3,), 5.0 * BYTES_DENSE))
    assert algo.knob is None
    with pytest.raises(ValueError, match="staleness must be >= 0"):
        SSP(prob.params(), StandInComm(3), staleness=-1)
    with pytest.raises(ValueError, match="delay must be one of fixed, random"):
        SSP(prob.params(), StandInComm(3), delay="poisson")


def test_resume_continues_the_same_run():
    prob = LeastSquares(4)
    a, b = prob.params(), prob.params()
    one = SSP(a, StandInComm(4), staleness=2, delay="random", seed=1)
    for it in range(5):
        one.step(prob.grads(a), 0.05, it)
    for x, y in zip(b, a):
        x.copy_(y)
    two = SSP(b, StandInComm(4), staleness=2, delay="random", seed=1)
    two.load_state_dict(one.state_dict())
    for it in range(5, 9):
        one.step(prob.grads(a), 0.05, it)
        two.step(prob.grads(b), 0.05, it)
    for x, y in zip(a, b):
        assert torch.equal(x, y)


@pytest.mark.parametrize("s", [0, 3])
def test_gaia_with_staleness_at_threshold_zero_is_ssp(s):
    """Gaia's GeePS setting: what the others sent arrives s iterations late; at T = 0 (every update sent) and
    without momentum that is bounded staleness with a fixed delay, step for step, at Gaia's bytes."""
    from training.algorithms.gaia import Gaia

    prob = LeastSquares(4)
    a, b = prob.params(), prob.params()
    gaia = Gaia(a, StandInComm(4), threshold=0.0, staleness=s, momentum=0.0, weight_decay=0.0)
    ssp = SSP(b, StandInComm(4), staleness=s, momentum=0.0, weight_decay=0.0)
    for it in range(9):
        gaia.step(prob.grads(a), 0.05, it)
        ssp.step(prob.grads(b), 0.05, it)
    for x, y in zip(a, b):
        assert_close(x, y)
    if s:
        fresh = prob.params()
        Gaia(fresh, StandInComm(4), threshold=0.0, momentum=0.0, weight_decay=0.0).step(prob.grads(fresh), 0.05, 0)
        assert not torch.allclose(torch.cat(fresh, 1), torch.cat(prob.params(), 1))
        late = prob.params()
        Gaia(late, StandInComm(4), threshold=0.0, staleness=s, momentum=0.0, weight_decay=0.0).step(
            prob.grads(late), 0.05, 0)
        own_only = [x - 0.05 / 4 * g for x, g in zip(prob.params(), prob.grads(prob.params()))]
        for x, y in zip(late, own_only):
            assert_close(x, y)                            # at step 0 nothing has arrived yet: own update only
