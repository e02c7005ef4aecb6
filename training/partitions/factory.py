"""Partitioners by name: one table of the allowed names."""
from __future__ import annotations

from training.partitions.dirichlet import DirichletPartitioner
from training.partitions.geographic import GeographicPartitioner
from training.partitions.iid import IidPartitioner
from training.partitions.label_exclusive import LabelExclusivePartitioner
from training.partitions.skew import SkewPartitioner

PARTITIONERS = {
    "dirichlet": DirichletPartitioner,
    "geographic": GeographicPartitioner,
    "iid": IidPartitioner,
    "label-exclusive": LabelExclusivePartitioner,
    "skew": SkewPartitioner,
}


def create_partitioner(name: str, **kwargs):
    """``create_partitioner("skew", num_partitions=5, skew=0.6, seed=0)``; ``None`` kwargs are dropped, and so is
    ``seed`` for deterministic partitioners (label-exclusive, geographic)."""
    if name not in PARTITIONERS:
        raise ValueError(f"Invalid partitioner: {name!r}. Must be one of ({', '.join(PARTITIONERS)}).")
    import inspect

    cls = PARTITIONERS[name]
    accepted = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in kwargs.items() if v is not None and not (k == "seed" and k not in accepted)}
    return cls(**kwargs)
