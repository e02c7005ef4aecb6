"""Accuracy of every replica this process holds, in one grouped forward pass per batch."""
from __future__ import annotations

import torch
from torch import nn

from training.replicas import Replicas


@torch.no_grad()
def accuracy(model: nn.Module, reps: int, x: torch.Tensor, y: torch.Tensor, device, batch: int = 1000) -> torch.Tensor:
    """Accuracy of each of the ``reps`` replicas in ``model`` on (x, y), ``[reps]``."""
    model.eval()
    correct = torch.zeros(reps)
    for i in range(0, len(y), batch):
        xb = x[i:i + batch].to(device).repeat(1, reps, 1, 1).contiguous(memory_format=torch.channels_last)
        pred = model(xb).argmax(-1).cpu()                                           # [n, reps]
        correct += (pred == y[i:i + batch, None]).sum(0)
    return correct / max(1, len(y))


def replica_accuracy(replicas: Replicas, x: torch.Tensor, y: torch.Tensor, device, model: nn.Module | None = None
                     ) -> torch.Tensor:
    """Accuracy of each replica (of ``model``, default the trained ones) on (x, y), ``[L]``. After a FedAvg round
    (or with BSP) every replica is the same model: it is scored once, not L times."""
    if model is None and replicas.identical():
        return accuracy(replicas.first_as_single(), 1, x, y, device).expand(replicas.count).clone()
    model = model or replicas.model
    return accuracy(model, 1 if model is replicas.single else replicas.count, x, y, device)
