"""Tiny problems and a stand-in comm for the gossip, staleness and remedy tests (no trainer, no data)."""
from __future__ import annotations

import torch


class StandInComm:
    """All K replicas in this process, with the refactored engine's ``mix`` and ``rank``
    (a stand-in until training/comm.py offers them)."""

    def __init__(self, world: int, rank: int = 0):
        self.world, self.rank = world, rank

    def mean(self, x):
        return x.mean(0, keepdim=True).expand_as(x)

    def sum_others(self, x):
        return x.sum(0, keepdim=True) - x

    def mix(self, x, W):
        return W.to(x.dtype) @ x


class LeastSquares:
    """K partitions, each with its own least-squares loss ``|A_k x - b_k|² / 2m`` over a model split into
    tensors of ``sizes``. ``skew``: each partition's targets come from its own optimum (label-skew-like);
    otherwise all partitions sample one distribution (IID); ``same_data``: every partition has the same data."""

    def __init__(self, K: int, sizes=(3, 2), m: int = 16, skew: bool = True, same_data: bool = False,
                 seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self.K, self.sizes = K, tuple(sizes)
        n = sum(sizes)
        reps = 1 if same_data else K
        A = torch.randn(reps, m, n, generator=gen, dtype=torch.float64)
        truth = torch.randn(reps if skew else 1, n, generator=gen, dtype=torch.float64) * (3.0 if skew else 1.0)
        b = (A @ truth.expand(reps, n).unsqueeze(2)).squeeze(2) + 0.1 * torch.randn(reps, m, generator=gen,
                                                                                      dtype=torch.float64)
        self.A, self.b = A.expand(K, m, n).clone(), b.expand(K, m).clone()
        self.x0 = [torch.randn(1, s, generator=gen, dtype=torch.float64).expand(K, s).clone() for s in sizes]

    def params(self):
        return [x.clone() for x in self.x0]

    def grads(self, params):
        x = torch.cat(params, 1)
        r = (self.A @ x.unsqueeze(2)).squeeze(2) - self.b
        g = (self.A.transpose(1, 2) @ r.unsqueeze(2)).squeeze(2) / self.A.shape[1]
        return list(g.split(self.sizes, 1))

    def optimum(self):
        """The minimiser of the partitions' summed loss."""
        A, b = self.A.reshape(-1, self.A.shape[2]), self.b.reshape(-1)
        return torch.linalg.lstsq(A, b.unsqueeze(1)).solution.squeeze(1)


def run(algo, problem, params, iterations, lr=0.05, start=0):
    """``iterations`` steps of ``algo`` on ``problem``'s gradients; the bytes it reported, ``[T, L]``."""
    sent = []
    for it in range(start, start + iterations):
        sent.append(algo.step(problem.grads(params), lr, it))
    return torch.stack(sent)


def assert_close(actual, expected, rtol=1e-7, atol=1e-9):
    """``torch.testing.assert_close`` for these float64 problems, without its seconds of import time."""
    expected = torch.as_tensor(expected, dtype=actual.dtype)
    assert actual.shape == expected.shape, f"shape {list(actual.shape)} != {list(expected.shape)}"
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), \
        f"max |difference| {float((actual - expected).abs().max()):.3g}"
