"""Chunked grouped evaluation: the same correctness matrix as scoring each replica alone, within its memory budget."""
from __future__ import annotations

import pytest
import torch

from training.evaluation import activation_bytes, chunk_size, correctness, replica_correctness
from training.models import create_model
from training.replicas import Replicas

SHAPE = (1, 16, 16)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models, many small forwards: on a loaded machine a second OpenMP thread spins at every barrier (0.4 s
    per test becomes 30 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def distinct_replicas(name: str, k: int, seed: int = 0) -> Replicas:
    """K replicas that differ in weights and in BatchNorm statistics (so eval-mode BN matters)."""
    r = Replicas(name, 10, SHAPE, k, seed, "cpu")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in r.params:
            p.add_(0.3 * torch.randn(p.shape, generator=g))
        for key, b in r.model.named_buffers():
            if key.endswith("running_mean"):
                b.copy_(0.3 * torch.randn(b.shape, generator=g))
            elif key.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return r


def plain_loop(name: str, r: Replicas, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The reference: a fresh single model per replica, loaded from the grouped state by hand, all examples at once."""
    grouped = r.model.state_dict()
    cols = []
    for k in range(r.count):
        m = create_model(name, num_classes=10, in_chans=SHAPE[0], img_size=SHAPE[1])
        state = {key: v if v.dim() == 0 else grouped[key].view(r.count, -1)[k].view_as(v)
                 for key, v in m.state_dict().items()}
        m.load_state_dict(state)
        with torch.no_grad():
            cols.append((m.eval()(x)[:, 0].argmax(-1) == y).float())
    return torch.stack(cols, 1)


def data(r: Replicas, n: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images labelled by replica (i mod K)'s own prediction, so every column mixes right and wrong."""
    x = torch.randn(n, *SHAPE, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        pred = r.model.eval()(x.repeat(1, r.count, 1, 1)).argmax(-1)           # [n, K]
    return x, pred[torch.arange(n), torch.arange(n) % r.count]


@pytest.mark.parametrize("name", ["test_lenet_bn", "test_lenet_gn"])
@pytest.mark.parametrize("k", range(3, 9))
def test_chunked_evaluation_equals_the_plain_per_replica_loop(name, k):
    r = distinct_replicas(name, k, seed=k)
    x, y = data(r, 37)
    want = plain_loop(name, r, x, y)
    assert 0 < want.mean() < 1 and not torch.equal(want[:, 0], want[:, 1])       # replicas differ
    one = k * activation_bytes(r.model, k, x[:1], "cpu")                          # one example, all replicas
    for examples in (1, 3, 7, 37, 100):                                           # odd chunks, a ragged last one
        budget = examples * one
        assert chunk_size(r.model, k, x, "cpu", budget) == examples
        assert torch.equal(replica_correctness(r, x, y, "cpu", budget=budget), want)
    assert torch.equal(replica_correctness(r, x, y, "cpu", budget=one - 1), want)   # each replica alone
    assert torch.equal(replica_correctness(r, x[:0], y[:0], "cpu"), torch.zeros(0, k))


def largest_activation(model: torch.nn.Module, fn) -> int:
    """The largest output (bytes) any leaf module of ``model`` makes while ``fn()`` runs."""
    largest = [0]

    def hook(_m, _i, out):
        largest[0] = max(largest[0], out.numel() * out.element_size())

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        fn()
    finally:
        for h in handles:
            h.remove()
    return largest[0]


@pytest.mark.parametrize("name", ["test_lenet_bn", "test_lenet_gn"])
def test_every_forward_stays_within_the_memory_budget(name):
    k = 5
    r = distinct_replicas(name, k)
    x, y = data(r, 41)
    per = activation_bytes(r.model, k, x[:1], "cpu")
    assert per == 4 * 4 * SHAPE[1] * SHAPE[2]          # test_lenet's first conv: 4 channels at full size, float32
    for budget in (k * per, 3 * k * per + 1, 10 * k * per - 1):
        used = largest_activation(r.model, lambda b=budget: correctness(r.model, k, x, y, "cpu", b))
        assert used <= budget and used > budget - k * per          # the chunk is as large as the budget allows
    # under one example's footprint for all replicas, each replica runs alone, chunked to the budget
    budget = 3 * per
    used = largest_activation(r.single, lambda: replica_correctness(r, x, y, "cpu", budget=budget))
    assert used == budget
    assert largest_activation(r.model, lambda: replica_correctness(r, x, y, "cpu", budget=budget)) == 0
