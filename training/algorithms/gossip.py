"""Gossip training on a topology: every replica takes a local step, then every ``gossip_every`` iterations
averages with its neighbours only, ``x <- W x`` (``comm.mix``), W a symmetric doubly stochastic mixing
matrix (``training.topology``). Replicas never become one model; they reach consensus at the speed of W's
spectral gap.

- ``dsgd``: D-PSGD (Lian et al. 2017, arXiv 1705.09056): ``x <- W (x - lr g)``; no momentum (the solver's
  momentum is not used, use ``dsgdm``).
- ``dsgdm``: D-PSGD with local momentum: ``m <- β m + g``, ``x <- W (x - lr m)`` (heavy ball) or
  ``x <- W (x - lr (g + β m))`` (``nesterov``).
- ``qgm``: QG-DSGDm, Quasi-Global Momentum (Lin et al. 2021, arXiv 2102.04761, Algorithm 1; reference code
  epfml/quasi-global-momentum, ``pcode/optim/decentralized_qg_sgd.py``): the local step uses the buffer m̂
  of the model's *actual* displacement, gossip included, so it approximates a global momentum on
  heterogeneous data: ``d = g + β m̂`` (Nesterov: ``d = g + β (g + β m̂)``), ``x' = W (x - lr d)``,
  ``m̂ <- μ m̂ + (1 - μ) (x - x') / lr`` with μ = β unless given.

Bytes: at each gossip step every replica sends its whole model to each neighbour, 4 B × n × degree.
The communication knob SkewScout moves is ``gossip_every``. Shared BN statistics are gossiped with the same
``W`` at each gossip step (``sync_buffers``), not averaged over all replicas.

``create_algorithm`` builds ``W`` once from the config's ``[topology]`` section (``name`` and the graph's options)
and hands it over as ``topology``; a caller outside the factory passes ``training.topology.mixing_matrix(...)``.
"""
from __future__ import annotations

import torch

from training.algorithms.base import BYTES_DENSE, Algorithm, register_algorithm
from training.topology import degrees


@register_algorithm
class DSGD(Algorithm):
    """D-PSGD: a plain local SGD step, then gossip with the neighbours every ``gossip_every`` iterations.

    ``topology`` is a ``[K, K]`` doubly stochastic mixing matrix (``training.topology.mixing_matrix``). ``comm``
    must offer ``mix(x [L, n], W [K, K]) -> [L, n]`` and ``rank`` (the replica index of this process's first
    row)."""

    name = "dsgd"
    knob = "gossip_every"
    knob_grid = (1, 2, 4, 8, 16)
    syncs_every_iteration = False
    gossips = True

    def __init__(self, params, comm, topology: torch.Tensor, gossip_every: int = 1, **kw):
        super().__init__(params, comm, **kw)
        if int(gossip_every) < 1:
            raise ValueError(f"gossip_every must be >= 1, got {gossip_every}")
        self.gossip_every = int(gossip_every)
        self.W = self._check(topology, comm.world).to(params[0].dtype)
        L = params[0].shape[0]
        self.rows = torch.arange(comm.rank, comm.rank + L)
        self.degree = degrees(self.W)[self.rows].to(torch.float64)     # models sent per gossip, per local row
        self._since_gossip = 0

    @staticmethod
    def _check(topology, K: int) -> torch.Tensor:
        W = torch.as_tensor(topology, dtype=torch.float64)
        if W.shape != (K, K):
            raise ValueError(f"a mixing matrix for {K} replicas must be [{K}, {K}], got {list(W.shape)}")
        ones = torch.ones(K, dtype=torch.float64)
        if (W < 0).any() or not (torch.allclose(W.sum(0), ones) and torch.allclose(W.sum(1), ones)):
            raise ValueError("a mixing matrix must be non-negative with rows and columns summing to 1")
        return W

    def local_update(self, p: torch.Tensor, g: torch.Tensor, m: torch.Tensor, lr: float) -> None:
        """One local step of replica rows ``p`` on gradient ``g`` (weight decay included)."""
        p.sub_(lr * g)

    def syncs_at(self, iteration: int) -> bool:
        return self._since_gossip == 0

    def steps_to_sync(self) -> int:
        return max(1, self.gossip_every - self._since_gossip)

    def step(self, grads, lr, iteration):
        for p, g, m in zip(self.params, grads, self.mom):
            self.local_update(p, self.grad_with_decay(p, g), m, lr)
        self._since_gossip += 1
        L = self.params[0].shape[0]
        if self._since_gossip < self.gossip_every:
            return torch.zeros(L)
        self._since_gossip = 0
        n = 0
        for p in self.params:
            p.copy_(self.comm.mix(p, self.W))
            n += p.shape[1]
        return (self.degree * (n * BYTES_DENSE)).to(torch.float32)

    def sync_buffers(self, buffers, bytes_per_replica):
        """BN statistics travel with the model to the neighbours and are mixed with the same ``W``."""
        for b in buffers:
            b.copy_(self.comm.mix(b, self.W.to(b.dtype)))
        return (self.degree * bytes_per_replica).to(torch.float32)

    def state_dict(self):
        return super().state_dict() | {"since_gossip": self._since_gossip}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self._since_gossip = state.get("since_gossip", 0)


@register_algorithm
class DSGDm(DSGD):
    """D-PSGD with local momentum (heavy ball, or Nesterov with ``nesterov=True``)."""

    name = "dsgdm"

    def __init__(self, params, comm, nesterov: bool = False, **kw):
        super().__init__(params, comm, **kw)
        self.nesterov = bool(nesterov)

    def local_update(self, p, g, m, lr):
        m.mul_(self.momentum).add_(g)
        p.sub_(lr * (g + self.momentum * m) if self.nesterov else lr * m)


@register_algorithm
class QGM(DSGDm):
    """QG-DSGDm: the momentum buffer (``self.mom``, m̂) follows the model's displacement across the local
    step *and* the gossip, ``m̂ <- μ m̂ + (1 - μ) (x_before - x_after) / lr``, so it carries the neighbours'
    progress as well as the local gradient. μ defaults to the momentum β, as in the paper. With
    ``gossip_every > 1`` m̂ is updated every iteration (a local-only iteration's displacement is its local
    step); with ``gossip_every = 1`` this is the paper's algorithm."""

    name = "qgm"

    def __init__(self, params, comm, mu: float | None = None, **kw):
        super().__init__(params, comm, **kw)
        self.mu = self.momentum if mu is None else float(mu)

    def local_update(self, p, g, m, lr):
        d = g + self.momentum * m                            # m̂ is read, not written, by the local step
        p.sub_(lr * (g + self.momentum * d) if self.nesterov else lr * d)

    def step(self, grads, lr, iteration):
        before = [p.clone() for p in self.params]
        sent = super().step(grads, lr, iteration)
        if lr > 0:
            for p, x0, m in zip(self.params, before, self.mom):
                m.mul_(self.mu).add_((x0 - p) / lr, alpha=1 - self.mu)
        return sent
