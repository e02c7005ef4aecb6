"""Degree of skew s (the paper's 20-100%): a fraction s of each class sits in partition c mod K, the rest is
spread uniformly over all K partitions. s = 0 is IID, s = 1 is label-exclusive."""
from __future__ import annotations

import numpy as np

from training.partitions.partitioner import Partitioner, check_num_partitions, register_partitioner


@register_partitioner
class SkewPartitioner(Partitioner):
    """Parameters: num_partitions, skew in [0, 1], seed.

    Counts, not coin flips: exactly round(s * n_c) examples of class c go to partition c mod K; the
    remaining ones are shuffled and dealt round-robin over all K partitions (starting at a seeded offset),
    so each partition gets the same share of the rest, within one example.
    """

    name = "skew"

    def __init__(self, num_partitions: int, skew: float, seed: int = 42) -> None:
        super().__init__()
        self._num_partitions = check_num_partitions(num_partitions)
        if not 0.0 <= float(skew) <= 1.0:
            raise ValueError(f"skew must be in [0, 1], got {skew!r}.")
        self._skew, self._seed = float(skew), seed

    @property
    def num_partitions(self) -> int:
        return self._num_partitions

    @property
    def skew(self) -> float:
        return self._skew

    def _assign(self) -> np.ndarray:
        labels, k = self.labels, self._num_partitions
        rng = np.random.default_rng(self._seed)
        out = np.empty(len(labels), dtype=np.int64)
        for c in sorted(np.unique(labels).tolist()):
            idx = rng.permutation(np.flatnonzero(labels == c))
            n_skewed = int(round(self._skew * len(idx)))
            out[idx[:n_skewed]] = c % k
            rest = idx[n_skewed:]
            out[rest] = (int(rng.integers(k)) + np.arange(len(rest))) % k
        return out
