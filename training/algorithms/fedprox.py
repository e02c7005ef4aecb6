"""FedProx (Li et al. 2020, arXiv 1812.06127): FederatedAveraging whose local steps are pulled towards the
round's global model, ``g <- g + μ (w - w_global)``, w_global the last average (the initial model before the
first). ``mu = 0`` is FedAvg exactly. Bytes as FedAvg: the model once per round."""
from __future__ import annotations

from training.algorithms.base import register_algorithm
from training.algorithms.fedavg import FedAvg


@register_algorithm
class FedProx(FedAvg):
    name = "fedprox"

    def __init__(self, params, comm, mu: float = 0.01, **kw):
        super().__init__(params, comm, **kw)
        if float(mu) < 0:
            raise ValueError(f"mu must be >= 0, got {mu}")
        self.mu = float(mu)
        self.global_params = [p.clone() for p in params]

    def step(self, grads, lr, iteration):
        if self.mu:
            grads = [g + self.mu * (p - w) for p, g, w in zip(self.params, grads, self.global_params)]
        sent = super().step(grads, lr, iteration)
        if self._since_sync == 0:                       # this step ended a round: the average is the new anchor
            for w, p in zip(self.global_params, self.params):
                w.copy_(p)
        return sent

    def state_dict(self):
        return super().state_dict() | {"global_params": self.global_params}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for w, s in zip(self.global_params, state["global_params"]):
            w.copy_(s)
