"""Every setting of a dedup run (the CLI verb and the Prefect task hand the same object to ``dedup_catalog``)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from catalog.errors import UserError

# pHash distances between different photos of the offline world rarely fall to 8 and bursts mostly stay within 6;
# pHash sets exactly 32 of its 64 bits, so distances are even and 6 is the same threshold as 7 (docs/dedup.md).
DEFAULT_THRESHOLD = 6
# One owner's shots within a minute and 50 m of each other are one burst (what curators and camera-trap datasets
# group as a "sequence") when their images are merely similar: a reframed shot can pass 6 bits (docs/dedup.md).
BURST_SECONDS, BURST_METRES, BURST_THRESHOLD = 60, 50.0, 16


@dataclass
class DedupSettings:
    threshold: int = DEFAULT_THRESHOLD   # join two images whose pHashes differ in at most this many bits
    burst_seconds: float = BURST_SECONDS  # also join one owner's shots this close in time taken (0: off) ...
    burst_metres: float = BURST_METRES   # ... and in place ...
    burst_threshold: int = BURST_THRESHOLD   # ... whose pHashes differ in at most this many bits
    batch_size: int = 512                # images hashed per batch (one INSERT per batch)
    rehash: bool = False                 # hash every downloaded image again, not only those without a hash
    threads: int | None = None           # decoding threads (Pillow releases the GIL); None: one per CPU core

    def __post_init__(self):
        if not 0 <= self.threshold <= 63:
            raise UserError(f"--threshold {self.threshold}: must be 0..63 bits of the 64-bit pHash; "
                            f"the documented default is {DEFAULT_THRESHOLD}")
        if not 0 <= self.burst_threshold <= 63 or self.burst_seconds < 0 or self.burst_metres < 0:
            raise UserError(f"--burst-threshold {self.burst_threshold}, --burst-seconds {self.burst_seconds}, "
                            f"--burst-metres {self.burst_metres}: the threshold must be 0..63 bits and the others "
                            "at least 0 (--burst-seconds 0 turns burst grouping off)")
        if self.batch_size < 1:
            raise UserError(f"--batch-size {self.batch_size}: must be at least 1")

    def local_threads(self) -> int:
        return self.threads or os.cpu_count() or 1
