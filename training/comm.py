"""How replicas talk: in one process (all K replicas in one tensor) or over torch.distributed (one per rank)."""
from __future__ import annotations

import torch


class LocalComm:
    """All K replicas live in this process as rows of ``[K, n]`` tensors."""

    def __init__(self, world: int):
        self.world, self.rank0 = world, 0

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(0, keepdim=True).expand_as(x)

    def sum_others(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(0, keepdim=True) - x


class DistComm:
    """One replica per process (``[1, n]`` tensors); collectives over the default process group."""

    def __init__(self):
        import torch.distributed as dist

        self.dist = dist
        self.world, self.rank0 = dist.get_world_size(), dist.get_rank()

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        y = x.contiguous().clone()
        self.dist.all_reduce(y)
        return y / self.world

    def sum_others(self, x: torch.Tensor) -> torch.Tensor:
        y = x.contiguous().clone()
        self.dist.all_reduce(y)
        return y - x
