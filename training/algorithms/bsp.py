"""Bulk Synchronous Parallel: every iteration the partitions' gradients make one update of one model."""
from __future__ import annotations

import torch

from training.algorithms.base import BYTES_DENSE, Algorithm, register_algorithm


@register_algorithm
class BSP(Algorithm):
    name = "bsp"

    def step(self, grads, lr, iteration):
        sent = 0
        for p, g, m in zip(self.params, grads, self.mom):
            mean = self.comm.mean(self.grad_with_decay(p, g))     # each partition sends its dense gradient
            m.mul_(self.momentum).add_(mean)
            p.sub_(lr * m)
            sent += p.shape[1] * BYTES_DENSE
        return torch.full((p.shape[0],), float(sent))
