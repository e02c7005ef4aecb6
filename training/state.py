"""The interface between the trainer and its hooks (SkewScout, or any ``fn(state)``): the trainer's ``Traffic``
counter (one name per quantity), a ``Hook`` (when it runs, under which key it is checkpointed) and the
``TrainState`` a hook receives — a value made for the call, not a view of the trainer: a hook reads the run
through it, and what it records (metrics fields, model travel) stays in it until the trainer takes it back."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from training.evaluation import replica_accuracy, replica_correctness

if TYPE_CHECKING:
    from training.data import Data
    from training.replicas import Replicas


@dataclass
class Traffic:
    """Bytes sent so far by each replica this process holds (float64 ``[L]``), by what sent them: ``algorithm``
    (its exchanges, shared BN statistics included) and ``travel`` (models travelling for SkewScout). The metrics
    row's ``bytes_algorithm`` and ``bytes_travel`` are their sums over all partitions, ``bytes`` both."""
    algorithm: torch.Tensor
    travel: torch.Tensor

    @classmethod
    def zeros(cls, count: int) -> Traffic:
        return cls(torch.zeros(count, dtype=torch.float64), torch.zeros(count, dtype=torch.float64))

    def copy(self) -> Traffic:
        return Traffic(self.algorithm.clone(), self.travel.clone())

    def totals(self, comm) -> tuple[float, float]:
        """(algorithm, travel) bytes of all partitions; a collective on torch.distributed."""
        return float(comm.gather(self.algorithm).sum()), float(comm.gather(self.travel).sum())

    def state_dict(self) -> dict:
        return {"bytes": self.algorithm, "bytes_travel": self.travel}

    def load_state_dict(self, s: dict) -> None:
        self.algorithm, self.travel = s["bytes"], s["bytes_travel"]


@dataclass
class Hook:
    """``fn(state)`` called after every ``every``-th iteration; its ``state_dict()`` (if it has one) is
    checkpointed under ``key``."""
    every: int
    fn: Callable
    key: str


@dataclass
class TrainState:
    """What a hook sees after one iteration. The algorithm, comm and replicas are the run's own (SkewScout moves
    the algorithm's knob through ``set_knob``); ``sent`` is the traffic as it stood before the hooks ran. A hook
    records through ``record`` and ``count_travel``; the trainer adds both to its row and counter afterwards."""
    iteration: int                  # iterations done
    iterations: int                 # the run's length
    lr: float                       # the learning rate of the next step
    algorithm: object
    comm: object
    replicas: Replicas
    data: Data
    parts: list                     # each partition's training rows (indices into data.x_train)
    device: torch.device
    sent: Traffic
    notes: dict = field(default_factory=dict)       # fields for the next metrics row
    travel: torch.Tensor | None = None              # travel bytes counted by the hooks of this call, ``[L]``

    def __post_init__(self):
        if self.travel is None:
            self.travel = torch.zeros_like(self.sent.travel)

    @property
    def num_partitions(self) -> int:
        return self.comm.world

    def record(self, fields: dict) -> None:
        """Adds ``fields`` to the next metrics row."""
        self.notes.update(fields)

    def count_travel(self, replica: int) -> None:
        """Counts one model travel sent by ``replica`` (held here): ``replicas.bytes_per_travel``."""
        self.travel[self.comm.replicas.index(replica)] += self.replicas.bytes_per_travel

    def bytes_sent(self) -> tuple[float, float]:
        """(algorithm, travel) bytes sent so far by all partitions, this call's travel included; a collective on
        torch.distributed."""
        return Traffic(self.sent.algorithm, self.sent.travel + self.travel).totals(self.comm)

    def sample(self, partition: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed random sample of one partition's training data (the same at every call)."""
        rng = np.random.default_rng([seed, partition])
        part = self.parts[partition]
        idx = rng.choice(part, size=min(size, len(part)), replace=False)
        return self.data.x_train[idx], self.data.y_train[idx]

    def evaluate(self, x: torch.Tensor, y: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """Accuracy of each local replica (of ``model``, default the trained ones) on (x, y), ``[L]``."""
        return replica_accuracy(self.replicas, x, y, self.device, model)

    def correctness(self, x: torch.Tensor, y: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """Per-example correctness (0/1) of each local replica (of ``model``, default the trained ones), ``[n, L]``."""
        return replica_correctness(self.replicas, x, y, self.device, model)
