"""What hooks (SkewScout) see of a running training, and the few things they may do to it."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from training.evaluation import replica_accuracy, replica_correctness

if TYPE_CHECKING:
    from training.trainer import Trainer


class TrainState:
    def __init__(self, trainer: Trainer):
        self._t = trainer

    @property
    def iteration(self) -> int:
        return self._t.iteration

    @property
    def iterations(self) -> int:
        return self._t.cfg.solver.iterations

    @property
    def num_partitions(self) -> int:
        return self._t.comm.world

    def lr_at(self, iteration: int) -> float:
        return self._t.lr_at(iteration)

    @property
    def algorithm(self):
        return self._t.algo

    @property
    def comm(self):
        return self._t.comm

    @property
    def replicas(self):
        return self._t.replicas

    def record(self, fields: dict) -> None:
        """Adds ``fields`` to the next metrics row."""
        self._t.extra.update(fields)

    def sample(self, partition: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed random sample of one partition's training data (the same at every call)."""
        rng = np.random.default_rng([seed, partition])
        part = self._t.parts[partition]
        idx = rng.choice(part, size=min(size, len(part)), replace=False)
        return self._t.data.x_train[idx], self._t.data.y_train[idx]

    def evaluate(self, x: torch.Tensor, y: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """Accuracy of each local replica (of ``model``, default the trained ones) on (x, y), ``[L]``."""
        return replica_accuracy(self._t.replicas, x, y, self._t.device, model)

    def correctness(self, x: torch.Tensor, y: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """Per-example correctness (0/1) of each local replica (of ``model``, default the trained ones), ``[n, L]``."""
        return replica_correctness(self._t.replicas, x, y, self._t.device, model)

    def count_travel(self, replica: int) -> None:
        """Counts one model travel sent by ``replica`` (held here)."""
        self._t.bytes_travel[self._t.comm.replicas.index(replica)] += self._t.replicas.travel_bytes

    @property
    def travel_bytes_per_model(self) -> float:
        """What one partition sends when its model travels: weights plus BN statistics."""
        return float(self._t.replicas.travel_bytes)

    def bytes_sent(self) -> tuple[float, float]:
        """(algorithm, travel) bytes sent so far by all partitions; a collective on torch.distributed."""
        comm = self._t.comm
        return float(comm.gather(self._t.bytes).sum()), float(comm.gather(self._t.bytes_travel).sum())
