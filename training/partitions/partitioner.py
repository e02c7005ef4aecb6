"""The base every partitioner shares: an assign-once dataset and ``load_partition(partition_id)``."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import pyarrow as pa

from training.registry import Registry


class Partitioner(ABC):
    """Splits a ``pyarrow.Table`` (an integer ``label`` column, and geography columns for geographic
    partitioners) into partitions of row indices. Every argument goes to ``__init__`` so that
    ``load_partition`` is called the same way for every partitioner; work happens lazily on first use."""

    name: ClassVar[str]          # the registered name: ``[partition] name = ...``

    def __init__(self) -> None:
        self._dataset: pa.Table | None = None
        self._partition_id_to_indices: dict[int, np.ndarray] = {}
        self._determined = False

    @property
    def dataset(self) -> pa.Table:
        if self._dataset is None:
            raise AttributeError("The dataset is not set: assign a pyarrow.Table to `partitioner.dataset` first.")
        return self._dataset

    @dataset.setter
    def dataset(self, value: pa.Table) -> None:
        if self._dataset is not None:
            raise ValueError("The dataset is already set; create a new partitioner for another dataset.")
        if not isinstance(value, pa.Table):
            raise TypeError(f"The dataset must be a pyarrow.Table, got {type(value).__name__}.")
        if "label" not in value.column_names:
            raise ValueError(f"The dataset needs an integer `label` column; it has {value.column_names}.")
        self._dataset = value

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.dataset["label"].to_numpy(zero_copy_only=False), dtype=np.int64)

    @property
    @abstractmethod
    def num_partitions(self) -> int:
        """How many partitions this partitioner makes."""

    def load_partition(self, partition_id: int) -> np.ndarray:
        """Sorted row indices of one partition."""
        self._determine_partition_id_to_indices_if_needed()
        if not 0 <= partition_id < self.num_partitions:
            raise ValueError(f"partition_id must be in [0, {self.num_partitions - 1}], got {partition_id}.")
        return self._partition_id_to_indices[partition_id]

    def _determine_partition_id_to_indices_if_needed(self) -> None:
        if self._determined:
            return
        assignment = self._assign()          # partition id per row, -1 = not in any partition
        self._partition_id_to_indices = {k: np.flatnonzero(assignment == k) for k in range(self.num_partitions)}
        self._determined = True

    @abstractmethod
    def _assign(self) -> np.ndarray:
        """A partition id for every row of the dataset (-1 for rows left out)."""


def check_num_partitions(num_partitions: int) -> int:
    if not isinstance(num_partitions, (int, np.integer)) or num_partitions <= 0:
        raise ValueError(f"num_partitions must be a positive integer, got {num_partitions!r}.")
    return int(num_partitions)


PARTITIONERS = Registry("partitioner")


def register_partitioner(cls: type[Partitioner]) -> type[Partitioner]:
    """Class decorator: the partitioner becomes ``[partition] name = cls.name``, and its constructor's keyword
    arguments become that section's valid keys."""
    return PARTITIONERS.register(cls)
