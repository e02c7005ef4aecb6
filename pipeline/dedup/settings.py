"""Every setting of a dedup run (the CLI verb and the Prefect task hand the same object to ``dedup_catalog``)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from catalog.errors import UserError

# pHash distances between different photos of the offline world rarely fall to 8 and bursts mostly stay within 6;
# pHash sets exactly 32 of its 64 bits, so distances are even and 6 is the same threshold as 7 (docs/dedup.md).
DEFAULT_THRESHOLD = 6


@dataclass
class DedupSettings:
    threshold: int = DEFAULT_THRESHOLD   # join two images whose pHashes differ in at most this many bits
    batch_size: int = 512                # images hashed per batch (one INSERT per batch)
    rehash: bool = False                 # hash every downloaded image again, not only those without a hash
    threads: int | None = None           # decoding threads (Pillow releases the GIL); None: one per CPU core

    def __post_init__(self):
        if not 0 <= self.threshold <= 63:
            raise UserError(f"--threshold {self.threshold}: must be 0..63 bits of the 64-bit pHash; "
                            f"the documented default is {DEFAULT_THRESHOLD}")
        if self.batch_size < 1:
            raise UserError(f"--batch-size {self.batch_size}: must be at least 1")

    def local_threads(self) -> int:
        return self.threads or os.cpu_count() or 1
