"""Accuracy of every replica this process holds, in one grouped forward pass per batch."""
from __future__ import annotations

import torch
from torch import nn

from training.replicas import Replicas


@torch.no_grad()
def correctness(model: nn.Module, reps: int, x: torch.Tensor, y: torch.Tensor, device, batch: int = 1000
                ) -> torch.Tensor:
    """Whether each of the ``reps`` replicas in ``model`` classifies each example right, ``[n, reps]`` (0/1 float)."""
    model.eval()
    out = torch.zeros(len(y), reps)
    for i in range(0, len(y), batch):
        xb = x[i:i + batch].to(device).repeat(1, reps, 1, 1).contiguous(memory_format=torch.channels_last)
        pred = model(xb).argmax(-1).cpu()                                           # [n, reps]
        out[i:i + batch] = (pred == y[i:i + batch, None]).float()
    return out


def accuracy(model: nn.Module, reps: int, x: torch.Tensor, y: torch.Tensor, device, batch: int = 1000) -> torch.Tensor:
    """Accuracy of each of the ``reps`` replicas in ``model`` on (x, y), ``[reps]``."""
    return correctness(model, reps, x, y, device, batch).sum(0) / max(1, len(y))


def replica_correctness(replicas: Replicas, x: torch.Tensor, y: torch.Tensor, device, model: nn.Module | None = None
                        ) -> torch.Tensor:
    """Per-example correctness of each replica (of ``model``, default the trained ones) on (x, y), ``[n, L]``.
    After a FedAvg round (or with BSP) every replica is the same model: it is scored once, not L times."""
    if model is None and replicas.identical():
        return correctness(replicas.first_as_single(), 1, x, y, device).expand(-1, replicas.count).clone()
    model = model or replicas.model
    return correctness(model, 1 if model is replicas.single else replicas.count, x, y, device)


def replica_accuracy(replicas: Replicas, x: torch.Tensor, y: torch.Tensor, device, model: nn.Module | None = None
                     ) -> torch.Tensor:
    """Accuracy of each replica (of ``model``, default the trained ones) on (x, y), ``[L]``."""
    return replica_correctness(replicas, x, y, device, model).sum(0) / max(1, len(y))
