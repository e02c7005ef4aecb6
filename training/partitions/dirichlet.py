"""Dirichlet(α) over labels: each class's examples split over partitions by proportions drawn from Dir(α)."""
from __future__ import annotations

import warnings

import numpy as np

from training.partitions.partitioner import Partitioner, check_num_partitions, register_partitioner

MAX_TRIES = 10


@register_partitioner
class DirichletPartitioner(Partitioner):
    """Parameters: num_partitions, alpha (> 0; small = skewed), seed, min_partition_size.

    Resamples (with a warning) until every partition has ``min_partition_size`` rows; after 10 tries raises
    ``ValueError`` — raise alpha or lower the minimum.
    """

    name = "dirichlet"

    def __init__(self, num_partitions: int, alpha: float, seed: int = 42, min_partition_size: int = 10) -> None:
        super().__init__()
        self._num_partitions = check_num_partitions(num_partitions)
        if not float(alpha) > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}.")
        self._alpha, self._seed, self._min = float(alpha), seed, int(min_partition_size)

    @property
    def num_partitions(self) -> int:
        return self._num_partitions

    def _assign(self) -> np.ndarray:
        labels, k = self.labels, self._num_partitions
        rng = np.random.default_rng(self._seed)
        for attempt in range(1, MAX_TRIES + 1):
            out = np.empty(len(labels), dtype=np.int64)
            for c in sorted(np.unique(labels).tolist()):
                idx = rng.permutation(np.flatnonzero(labels == c))
                cuts = (np.cumsum(rng.dirichlet([self._alpha] * k))[:-1] * len(idx)).astype(int)
                for p, part in enumerate(np.split(idx, cuts)):
                    out[part] = p
            sizes = np.bincount(out, minlength=k)
            if sizes.min() >= self._min:
                return out
            warnings.warn(f"Dirichlet partitioning (alpha={self._alpha}) left a partition with {sizes.min()} < "
                          f"{self._min} rows; resampling (try {attempt} of {MAX_TRIES}).", stacklevel=2)
        raise ValueError(f"Dirichlet partitioning could not give every partition {self._min} rows in {MAX_TRIES} "
                         f"tries with alpha={self._alpha}: raise alpha or lower min_partition_size.")
