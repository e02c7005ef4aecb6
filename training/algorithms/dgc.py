"""Deep Gradient Compression: momentum correction, top-k of the accumulated velocity per tensor, zero what was
sent (and its momentum: factor masking), sparsity warm-up, optional local clipping. Tensors with dim ≤ 1 go
dense. Replicas apply only the exchanged (averaged) values, so they stay identical."""
from __future__ import annotations

import math

import torch

from training.algorithms.base import BYTES_DENSE, BYTES_SPARSE, Algorithm, register_algorithm

WARMUP = (0.75, 0.9375, 0.984375, 0.996, 0.999)


@register_algorithm
class DGC(Algorithm):
    name = "dgc"
    knob = "sparsity"
    knob_grid = (0.0, 0.75, 0.9375, 0.984375, 0.996, 0.999)
    compresses = True

    def __init__(self, params, comm, sparsity: float = 0.999, warmup_iters: int = 0, clip_norm: float | None = None,
                 compress_mask: list[bool] | None = None, **kw):
        super().__init__(params, comm, **kw)
        if not 0.0 <= float(sparsity) < 1.0:
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
        self.sparsity, self.warmup_iters, self.clip_norm = float(sparsity), int(warmup_iters), clip_norm
        self.compress = compress_mask or [True] * len(params)   # the factory passes dim > 1 per tensor
        self.vel = [torch.zeros_like(p) for p in params]

    def current_sparsity(self, iteration: int) -> float:
        """Warm-up: one step of 75% → 93.75% → 98.4375% → 99.6% → 99.9% per warm-up epoch, capped by the knob."""
        if self.warmup_iters and self.sparsity > 0:
            e = iteration // self.warmup_iters
            if e < len(WARMUP):
                return min(WARMUP[e], self.sparsity)
        return self.sparsity

    def step(self, grads, lr, iteration):
        s = self.current_sparsity(iteration)
        L = self.params[0].shape[0]
        sent = torch.zeros(L)
        if self.clip_norm:
            norms = torch.sqrt(sum((g * g).sum(1) for g in grads))             # per replica
            scale = torch.clamp(self.clip_norm / (norms + 1e-12), max=1.0)[:, None]
            grads = [g * scale for g in grads]
        for p, g, u, v, compress in zip(self.params, grads, self.mom, self.vel, self.compress):
            u.mul_(self.momentum).add_(self.grad_with_decay(p, g))           # momentum correction
            v.add_(u)
            n = p.shape[1]
            if compress and s > 0:
                k = max(1, int(math.ceil((1 - s) * n)))
                thr = v.abs().topk(k, dim=1).values[:, -1:]
                mask = v.abs() >= thr
                nnz = mask.sum(1).to(sent.dtype)
                sent += torch.minimum(nnz * BYTES_SPARSE, torch.full_like(nnz, n * BYTES_DENSE))
            else:
                mask = torch.ones_like(v, dtype=torch.bool)
                sent += n * BYTES_DENSE
            out = torch.where(mask, v, torch.zeros_like(v))
            p.sub_(lr * self.comm.mean(out))
            v.masked_fill_(mask, 0.0)
            if compress and s > 0:
                u.masked_fill_(mask, 0.0)                                      # momentum factor masking
        return sent

    @classmethod
    def drift(cls, sparsity: float) -> float:
        """An entry's update is kept back for about 1 / (1 - sparsity) iterations."""
        return 1.0 / max(1e-12, 1.0 - float(sparsity))

    def travel_view(self, lr: float) -> list[torch.Tensor]:
        """What each replica holds back: lr × its accumulated velocity, per tensor ``[L, n]``. A partition's own
        model is its replica minus this (SkewScout travels that one: the replicas themselves are identical)."""
        return [lr * v for v in self.vel]

    def state_dict(self):
        return super().state_dict() | {"vel": self.vel}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for v, s in zip(self.vel, state["vel"]):
            v.copy_(s)
