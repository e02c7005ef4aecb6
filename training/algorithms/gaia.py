"""Gaia: each replica applies its own updates at once and accumulates them; an entry is sent to all other
partitions when |accumulated / weight| > T (or the weight is 0), then zeroed there. Dense when sparse is bigger.
T decays with the learning rate schedule.

``staleness = s`` (default 0) delivers what the others sent ``s`` iterations late (the paper's GeePS setting: Gaia
over a parameter server with a staleness bound; bounded staleness alone is ``ssp``): sends are held in flight for s
iterations, then applied. Bytes do not change. With T = 0 and no momentum this is ``ssp`` with a fixed delay (test)."""
from __future__ import annotations

import torch

from training.algorithms.base import BYTES_DENSE, BYTES_SPARSE, Algorithm, register_algorithm


@register_algorithm
class Gaia(Algorithm):
    name = "gaia"
    knob = "threshold"
    knob_grid = (0.02, 0.05, 0.10, 0.20, 0.30)

    def __init__(self, params, comm, threshold: float = 0.1, staleness: int = 0, **kw):
        super().__init__(params, comm, **kw)
        if int(staleness) < 0:
            raise ValueError(f"staleness must be >= 0, got {staleness}")
        self.threshold, self.staleness = float(threshold), int(staleness)
        self.acc = [torch.zeros_like(p) for p in params]
        self.in_flight = [p.new_zeros((self.staleness, *p.shape)) for p in params]   # ring: sent, not yet arrived
        self._t = 0

    def step(self, grads, lr, iteration):
        K = self.comm.world
        t = self.threshold * lr / self.lr0
        L = self.params[0].shape[0]
        sent = torch.zeros(L)
        for p, g, m, a, ring in zip(self.params, grads, self.mom, self.acc, self.in_flight):
            m.mul_(self.momentum).add_(self.grad_with_decay(p, g))
            u = (lr / K) * m                     # a partition's share of the global step
            p.sub_(u)
            a.add_(u)
            mask = (a.abs() > t * p.abs()) | (p == 0)
            out = torch.where(mask, a, torch.zeros_like(a))
            arrived = out
            if self.staleness:                    # out waits `staleness` iterations; what was sent then arrives
                slot = self._t % self.staleness
                arrived = ring[slot].clone()
                ring[slot].copy_(out)
            p.sub_(self.comm.sum_others(arrived))     # apply what the other partitions sent
            a.masked_fill_(mask, 0.0)
            nnz = mask.sum(1).to(torch.float64)
            per_dest = torch.minimum(nnz * BYTES_SPARSE, torch.full_like(nnz, p.shape[1] * BYTES_DENSE))
            sent += (per_dest * (K - 1)).to(sent.dtype)        # to every other partition
        self._t += 1
        return sent

    def state_dict(self):
        return super().state_dict() | {"acc": self.acc, "in_flight": self.in_flight, "t": self._t}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for a, s in zip(self.acc + self.in_flight, state["acc"] + state.get("in_flight", [])):
            a.copy_(s)
        self._t = state.get("t", 0)
