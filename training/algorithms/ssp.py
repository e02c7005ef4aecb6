"""Bounded staleness (Stale Synchronous Parallel, Ho et al. 2013): BSP's update, but a partition sees the
others' gradients up to ``staleness`` iterations late, as workers of a parameter server with a staleness
bound do; its own gradient it sees at once.

Replica i at iteration t applies momentum SGD to what has reached it,
``ĝ_i = (g_i,t + Σ_{k≠i} g_k,t-d_ik) / K``, ``m_i <- β m_i + ĝ_i``, ``x_i <- x_i - lr m_i``, where the delay
d of source k's gradient sent at t' to i is ``staleness`` (``delay="fixed"``) or drawn once, uniform in
[0, staleness], from a generator seeded by (``seed``, t') (``delay="random"``, the same draw on every rank).
Every gradient arrives exactly once; at most ``staleness`` iterations late. ``staleness = 0`` is BSP
exactly (the same operations). Each replica keeps a ring buffer of its last ``staleness + 1`` sent gradients;
receivers read the source's slot for the lag they are owed (``comm.sum_others`` for a fixed delay,
``comm.mix`` with a 0/1 selection matrix per lag for random delays).

Bytes: each partition sends its dense gradient every iteration, as in BSP (staleness trades waiting for
stragglers, not bytes, so there is no communication knob; ``flickr-mammal sweep`` grids the staleness).
"""
from __future__ import annotations

import torch

from training.algorithms.base import BYTES_DENSE, Algorithm, register_algorithm

DELAYS = ("fixed", "random")


@register_algorithm
class SSP(Algorithm):
    name = "ssp"
    grid_only_knob = "staleness"
    knob_grid = (0, 2, 8, 32)

    def __init__(self, params, comm, staleness: int = 2, delay: str = "fixed", seed: int = 0, **kw):
        super().__init__(params, comm, **kw)
        if int(staleness) < 0:
            raise ValueError(f"staleness must be >= 0, got {staleness}")
        if delay not in DELAYS:
            raise ValueError(f"delay must be one of {', '.join(DELAYS)}, got {delay!r}")
        self.staleness, self.delay, self.seed = int(staleness), delay, int(seed)
        self.sent_grads = [p.new_zeros((self.staleness + 1, *p.shape)) for p in params]   # ring, per source
        self._t = 0

    def delays(self, sent_at: int) -> torch.Tensor:
        """``[K, K]`` (int64): entry (i, k) is how many iterations late source k's gradient of iteration
        ``sent_at`` reaches replica i (the diagonal is 0: a partition's own gradient is never late)."""
        K = self.comm.world
        if self.delay == "fixed":
            d = torch.full((K, K), self.staleness, dtype=torch.long)
        else:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + sent_at)
            d = torch.randint(0, self.staleness + 1, (K, K), generator=gen)
        d.fill_diagonal_(0)
        return d

    def _arrived_from_others(self, t: int, i: int) -> torch.Tensor:
        """Σ_{k≠i} g_k,t-d_ik for parameter ``i``: the others' gradients arriving at iteration ``t``."""
        ring, s = self.sent_grads[i], self.staleness + 1
        if self.delay == "fixed":
            return self.comm.sum_others(ring[(t - self.staleness) % s])
        out = torch.zeros_like(ring[0])
        for lag in range(min(self.staleness, t) + 1):
            sel = (self.delays(t - lag) == lag).to(ring.dtype)
            sel.fill_diagonal_(0)
            if sel.any():
                out += self.comm.mix(ring[(t - lag) % s], sel)
        return out

    def step(self, grads, lr, iteration):
        t, K = self._t, self.comm.world
        sent = 0
        for i, (p, g, m) in enumerate(zip(self.params, grads, self.mom)):
            gd = self.grad_with_decay(p, g)
            if self.staleness == 0:
                seen = self.comm.mean(gd)                    # BSP
            else:
                self.sent_grads[i][t % (self.staleness + 1)].copy_(gd)
                seen = (gd + self._arrived_from_others(t, i)) / K
            m.mul_(self.momentum).add_(seen)
            p.sub_(lr * m)
            sent += p.shape[1] * BYTES_DENSE
        self._t += 1
        return torch.full((self.params[0].shape[0],), float(sent))

    def state_dict(self):
        return super().state_dict() | {"sent_grads": self.sent_grads, "t": self._t}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for r, s in zip(self.sent_grads, state["sent_grads"]):
            r.copy_(s)
        self._t = state["t"]
