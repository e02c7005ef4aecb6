"""Partitioners by name: ``create_partitioner`` builds a registered one, ``list_partitioners`` names them."""
from __future__ import annotations

from training.partitions.partitioner import PARTITIONERS
from training.registry import keyword_args

SHARED = ("num_partitions", "seed")       # what callers pass to any partitioner; dropped where it takes none


def create_partitioner(name: str, **kwargs):
    """``create_partitioner("skew", num_partitions=5, skew=0.6, seed=0)``; ``None`` kwargs are dropped, and so are
    ``num_partitions`` and ``seed`` for partitioners without them (geographic; label-exclusive takes no seed)."""
    cls = PARTITIONERS.lookup(name)
    accepted = keyword_args(cls)
    return cls(**{k: v for k, v in kwargs.items() if v is not None and (k not in SHARED or k in accepted)})


def list_partitioners(pattern: str = "*") -> list[str]:
    return PARTITIONERS.names(pattern)
