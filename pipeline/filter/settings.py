"""Every setting of a filter run, in one object the CLI verb, the Prefect flow and each scoring shard receive."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FilterSettings:
    model: str = "pnasnet5large"       # any timm ImageNet-1k model (ignored for a `filter train` checkpoint)
    weights: str | None = None         # local checkpoint; None: timm's cache
    rule: str = "mass"                 # decide.RULES
    threshold: float = 0.2
    train: bool = False                # first train a small classifier on the catalogue's classes (its weights win)
    holdout: float = 0.2               # with train: share of owners held out of training (precision/recall on them)
    device: str | None = None          # cuda | cpu; None: cuda when available
    batch_size: int = 64
    workers: int = 2                   # DataLoader decoding workers (0 inside daemonic Dask workers)
    shard_size: int = 512              # photos per scoring shard (one task, one transaction)
    classes_file: str | None = None    # None: the built-in catalogue
