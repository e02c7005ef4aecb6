"""Every setting of an export (the CLI verb and the Prefect task hand the same object to ``export``)."""
from __future__ import annotations

from dataclasses import dataclass

from catalog.errors import UserError
from catalog.licenses import license_ids

PARTITIONERS = ("geographic", "label-exclusive", "skew", "dirichlet", "iid")
LEVELS = ("continent", "subregion", "country")


@dataclass
class ExportSettings:
    partitioner: str = "geographic"       # PARTITIONERS
    level: str = "continent"              # geographic level: LEVELS
    min_size: int = 50                    # drop geographic partitions smaller than this
    num_partitions: int | None = None     # for label-exclusive, skew, dirichlet, iid
    skew: float | None = None             # degree of skew s in [0, 1] for the skew partitioner
    alpha: float | None = None            # Dirichlet concentration
    test_fraction: float = 0.1
    seed: int = 0
    require_images: bool = True           # False: photos without downloaded images too (metadata only)
    licenses: str = "open"                # short names and/or groups (open, all), comma-separated: catalog/licenses.py
    private: bool = False                 # True: copy images under every selected license, ARR too (not to be shared)
    webdataset: bool = False              # True: also WebDataset shards per partition and split (webdataset/)
    keep_duplicates: bool = False         # True: export `dataset_all` (near-copies too, grouped into one split)
    max_per_owner: int | None = None      # keep at most this many photos per owner (a seeded choice); None: all

    def __post_init__(self):
        if self.partitioner not in PARTITIONERS:
            raise UserError(f"unknown partitioner {self.partitioner!r}; partitioners are {', '.join(PARTITIONERS)}")
        if self.partitioner == "geographic" and self.level not in LEVELS:
            raise UserError(f"unknown level {self.level!r}; levels are {', '.join(LEVELS)}")
        if self.licenses is None:             # older configs: None meant every license; now the safe default
            self.licenses = "open"
        license_ids(self.licenses)            # an unknown name fails here, before any work
        if not 0.0 <= self.test_fraction < 1.0:
            raise UserError(f"--test-fraction {self.test_fraction} must be in [0, 1)")
        if self.max_per_owner is not None and self.max_per_owner < 1:
            raise UserError(f"--max-per-owner {self.max_per_owner}: must be at least 1 (leave it out to keep all)")
