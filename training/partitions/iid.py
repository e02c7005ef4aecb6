"""IID: a seeded shuffle dealt out evenly."""
from __future__ import annotations

import numpy as np

from training.partitions.partitioner import Partitioner, check_num_partitions, register_partitioner


@register_partitioner
class IidPartitioner(Partitioner):
    """Parameters: num_partitions, seed. Partition sizes differ by at most one."""

    name = "iid"

    def __init__(self, num_partitions: int, seed: int = 42) -> None:
        super().__init__()
        self._num_partitions = check_num_partitions(num_partitions)
        self._seed = seed

    @property
    def num_partitions(self) -> int:
        return self._num_partitions

    def _assign(self) -> np.ndarray:
        n = self.dataset.num_rows
        out = np.empty(n, dtype=np.int64)
        out[np.random.default_rng(self._seed).permutation(n)] = np.arange(n) % self._num_partitions
        return out
