"""Label-exclusive (the paper's CIFAR-10 setup): class c goes to partition c mod K."""
from __future__ import annotations

import numpy as np

from training.partitions.partitioner import Partitioner, check_num_partitions, register_partitioner


@register_partitioner
class LabelExclusivePartitioner(Partitioner):
    """Parameters: num_partitions. Deterministic; no seed needed."""

    name = "label-exclusive"

    def __init__(self, num_partitions: int) -> None:
        super().__init__()
        self._num_partitions = check_num_partitions(num_partitions)

    @property
    def num_partitions(self) -> int:
        return self._num_partitions

    def _assign(self) -> np.ndarray:
        return self.labels % self._num_partitions
