"""FederatedAveraging: local SGD; every Iter_local iterations all replicas become their equal average.
Momentum stays local."""
from __future__ import annotations

import torch

from training.algorithms.base import BYTES_DENSE, Algorithm, register_algorithm


@register_algorithm
class FedAvg(Algorithm):
    name = "fedavg"
    knob = "iter_local"
    knob_grid = (5, 10, 20, 50, 100, 200, 500, 1000)
    syncs_every_iteration = False
    delivers_average = True

    def __init__(self, params, comm, iter_local: int = 20, average_at_end: bool = True, **kw):
        super().__init__(params, comm, **kw)
        if int(iter_local) < 1:
            raise ValueError(f"iter_local must be >= 1, got {iter_local}")
        self.iter_local = int(iter_local)
        # FedAvg's product is the average: a run that does not end on a round boundary (SkewScout moving
        # Iter_local shifts the rounds) still ends with one, so its final accuracy is the average's, as for a
        # static Iter_local that divides the run
        self.average_at_end = bool(average_at_end)
        self._since_sync = 0

    def syncs_at(self, iteration: int) -> bool:
        return self._since_sync == 0

    def steps_to_sync(self) -> int:
        return max(1, self.iter_local - self._since_sync)

    def step(self, grads, lr, iteration):
        for p, g, m in zip(self.params, grads, self.mom):
            m.mul_(self.momentum).add_(self.grad_with_decay(p, g))
            p.sub_(lr * m)
        self._since_sync += 1
        L = self.params[0].shape[0]
        last = self.average_at_end and self.end_iteration is not None and iteration + 1 >= self.end_iteration
        if self._since_sync < self.iter_local and not last:
            return torch.zeros(L)
        self._since_sync = 0
        sent = 0
        for p in self.params:
            p.copy_(self.comm.mean(p))
            sent += p.shape[1] * BYTES_DENSE
        return torch.full((L,), float(sent))

    def state_dict(self):
        return super().state_dict() | {"since_sync": self._since_sync}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self._since_sync = state.get("since_sync", 0)
