"""Geographic: one partition per continent, sub-region or country (natural ids), small regions dropped."""
from __future__ import annotations

import numpy as np

from training.partitions.partitioner import Partitioner, register_partitioner

LEVELS = ("continent", "subregion", "country")


@register_partitioner
class GeographicPartitioner(Partitioner):
    """Parameters: level (continent | subregion | country), min_partition_size.

    Partition ids follow the sorted region names. Rows without geography, and regions smaller than
    ``min_partition_size`` (Antarctica-like slivers), are left out and reported in ``dropped``.
    """

    name = "geographic"

    def __init__(self, level: str = "continent", min_partition_size: int = 1) -> None:
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f"Invalid level: {level!r}. Must be one of ({', '.join(LEVELS)}).")
        self._level, self._min = level, int(min_partition_size)
        self._names: list[str] | None = None
        self._dropped: dict[str, int] = {}

    def _regions(self) -> np.ndarray:
        if self._level not in self.dataset.column_names:
            raise ValueError(f"The dataset has no `{self._level}` column: geocode the catalog first.")
        return np.array(["" if v is None else v for v in self.dataset[self._level].to_pylist()], dtype=object)

    def _names_if_needed(self) -> list[str]:
        if self._names is None:
            regions = self._regions()
            names, counts = np.unique(regions[regions != ""], return_counts=True)
            self._names = [str(n) for n, c in zip(names, counts) if c >= self._min]
            self._dropped = {str(n): int(c) for n, c in zip(names, counts) if c < self._min}
            missing = int((regions == "").sum())
            if missing:
                self._dropped["(no geography)"] = missing
            if not self._names:
                raise ValueError(f"No {self._level} has at least {self._min} rows: lower min_partition_size.")
        return self._names

    @property
    def num_partitions(self) -> int:
        return len(self._names_if_needed())

    @property
    def partition_names(self) -> list[str]:
        return list(self._names_if_needed())

    @property
    def dropped(self) -> dict[str, int]:
        self._names_if_needed()
        return dict(self._dropped)

    def _assign(self) -> np.ndarray:
        pid = {n: i for i, n in enumerate(self._names_if_needed())}
        return np.array([pid.get(r, -1) for r in self._regions()], dtype=np.int64)
