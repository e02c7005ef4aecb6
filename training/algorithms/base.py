"""What every algorithm implements: apply one iteration's update to the replicas and say what it sent.

Parameters arrive as ``[L, n]`` views (L replicas held by this process: all K in the simulator, one per
process under torch.distributed); ``comm`` averages or sums across all K replicas wherever they live.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch

from training.config import SolverConfig
from training.registry import Registry

BYTES_DENSE = 4        # one float32 value
BYTES_SPARSE = 8       # a 4-byte index and a 4-byte value


class Algorithm(ABC):
    name: ClassVar[str]
    knob: ClassVar[str | None] = None           # the communication knob SkewScout moves
    knob_grid: ClassVar[tuple] = ()             # the paper's static grid, loosest last
    grid_only_knob: ClassVar[str | None] = None  # a setting `sweep` may grid (over knob_grid) but SkewScout cannot
                                                # move within a run (SSP's staleness sizes its gradient ring)
    knob_follows_lr: ClassVar[bool] = False     # the knob in effect is knob × lr / lr0 (Gaia's T)
    delivers_average: ClassVar[bool] = False    # replicas become their equal average at each sync (FedAvg)
    knob_tighter_is_lower: ClassVar[bool] = True   # a lower knob value communicates more
    syncs_every_iteration: ClassVar[bool] = True
    compresses: ClassVar[bool] = False          # takes ``compress_mask``: which tensors may be sparsified (dim > 1)

    def __init__(self, params: list[torch.Tensor], comm, momentum: float = SolverConfig.momentum,
                 weight_decay: float = SolverConfig.weight_decay, lr0: float = SolverConfig.lr, **knobs):
        self.params, self.comm = params, comm
        self.momentum, self.weight_decay, self.lr0 = momentum, weight_decay, lr0
        self.mom = [torch.zeros_like(p) for p in params]
        if knobs:
            raise ValueError(f"{self.name} does not take {sorted(knobs)}")

    @classmethod
    def sweep_knob(cls) -> str | None:
        """What a static grid (``flickr-mammal sweep``) varies: the knob, else the grid-only setting."""
        return cls.knob or cls.grid_only_knob

    def get_knob(self):
        return getattr(self, self.knob) if self.knob else None

    def set_knob(self, value) -> None:
        if not self.knob:
            raise ValueError(f"{self.name} has no communication knob")
        setattr(self, self.knob, type(getattr(self, self.knob))(value))

    def grad_with_decay(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return g + self.weight_decay * p if self.weight_decay else g

    @abstractmethod
    def step(self, grads: list[torch.Tensor], lr: float, iteration: int) -> torch.Tensor:
        """Update ``self.params`` in place; return bytes sent this iteration per local replica, ``[L]``."""

    def syncs_at(self, iteration: int) -> bool:
        """Whether replicas exchange models (and shared BN statistics) after this iteration."""
        return self.syncs_every_iteration

    def sync_buffers(self, buffers: list[torch.Tensor], bytes_per_replica: float) -> torch.Tensor:
        """Share BN running statistics (``[L, n]`` views) the way models are shared at a sync: here every row
        becomes the mean over all K replicas. Returns the bytes each local replica sent (``bytes_per_replica`` is
        one replica's statistics, dense)."""
        for b in buffers:
            b.copy_(self.comm.mean(b))
        return torch.full((self.params[0].shape[0],), float(bytes_per_replica))

    end_iteration: int | None = None          # set by the trainer: the run's length

    def steps_to_sync(self) -> int:
        """Iterations until replicas next exchange what they drifted apart by (1: the next step does).
        SkewScout measures just before that moment, where the knob's drift is largest."""
        return 1

    def state_dict(self) -> dict:
        return {"mom": self.mom, "knob": self.get_knob()}

    def load_state_dict(self, state: dict) -> None:
        for m, s in zip(self.mom, state["mom"]):
            m.copy_(s)
        if self.knob and state.get("knob") is not None:
            self.set_knob(state["knob"])


ALGORITHMS = Registry("algorithm")


def register_algorithm(cls: type[Algorithm]) -> type[Algorithm]:
    """Class decorator: the algorithm becomes ``[algorithm] name = cls.name``, and its constructor's keyword
    arguments become that section's valid keys."""
    return ALGORITHMS.register(cls)


def create_algorithm(name: str, params: list[torch.Tensor], comm, **kwargs) -> Algorithm:
    return ALGORITHMS.lookup(name)(params, comm, **kwargs)


def list_algorithms(pattern: str = "*") -> list[str]:
    return ALGORITHMS.names(pattern)
