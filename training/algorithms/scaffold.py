"""SCAFFOLD (Karimireddy et al. 2020, arXiv 1910.06378, Algorithm 1, full participation, global step size 1):
FederatedAveraging whose local steps are corrected by control variates, ``g <- g - c_i + c``. At the end of
a round, option II: ``c_i+ = c_i - c + Δ_i / Σ lr``, Δ_i the round's local displacement before momentum
(``Σ_t lr_t (g_t - c_i + c)``, which is ``x - y_i`` exactly as in the paper when momentum is 0); the models
become their average (FedAvg's round) and ``c <- c + mean_i(c_i+ - c_i)``, so ``c`` stays the mean of the
``c_i`` and the corrections ``c - c_i`` sum to zero over partitions.

Bytes: each partition sends its model and its control-variate change every round, 2× FedAvg's."""
from __future__ import annotations

import torch

from training.algorithms.base import BYTES_DENSE, register_algorithm
from training.algorithms.fedavg import FedAvg


@register_algorithm
class Scaffold(FedAvg):
    name = "scaffold"

    def __init__(self, params, comm, **kw):
        super().__init__(params, comm, **kw)
        self.c_local = [torch.zeros_like(p) for p in params]        # c_i, one row per local replica
        self.c_global = [torch.zeros_like(p) for p in params]       # c, the same on every row
        self.displacement = [torch.zeros_like(p) for p in params]   # Σ_t lr_t (g_t - c_i + c) this round
        self.lr_sum = 0.0

    def step(self, grads, lr, iteration):
        grads = [g - ci + c for g, ci, c in zip(grads, self.c_local, self.c_global)]
        for d, p, g in zip(self.displacement, self.params, grads):
            d.add_(self.grad_with_decay(p, g), alpha=lr)
        self.lr_sum += lr
        sent = super().step(grads, lr, iteration)
        if self._since_sync != 0:
            return sent
        n = 0                                                       # the round ended: update the variates
        for ci, c, d in zip(self.c_local, self.c_global, self.displacement):
            new = ci - c + d / self.lr_sum if self.lr_sum > 0 else ci
            c.add_(self.comm.mean(new - ci))
            ci.copy_(new)
            d.zero_()
            n += ci.shape[1]
        self.lr_sum = 0.0
        return sent + n * BYTES_DENSE                               # Δc_i travels with the model

    def state_dict(self):
        return super().state_dict() | {"c_local": self.c_local, "c_global": self.c_global,
                                       "displacement": self.displacement, "lr_sum": self.lr_sum}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for name in ("c_local", "c_global", "displacement"):
            for mine, s in zip(getattr(self, name), state[name]):
                mine.copy_(s)
        self.lr_sum = state["lr_sum"]
