"""Every setting of a download, in one object the CLI verb, the Prefect flow and each shard worker receive."""
from __future__ import annotations

import os
from dataclasses import dataclass

from catalog.errors import UserError
from pipeline.download.resizer import Resizer
from pipeline.download.writer import check_output_format


@dataclass
class DownloadSettings:
    static_base: str | None = None      # image host for photos without url_z/url_c; None: live.staticflickr.com
    shorter_side: int | None = None     # resize so the shorter side is N px (never upscales)
    longest_side: int | None = None     # resize so the longest side is N px (never upscales)
    quality: int = 95                   # JPEG quality when resizing
    threads: int = 32                   # concurrent downloads per process
    per_host: int = 16                  # connections per host per process at most
    timeout: float = 20.0               # seconds per HTTP request
    attempts: int = 4                   # HTTP attempts per URL
    shard_size: int = 256               # photos per shard (one task, one transaction, one WebDataset tar)
    retry_failed: bool = False          # try photos that failed before again
    output_format: str = "files"        # files | webdataset (writer.OUTPUT_FORMATS)
    processes: int | None = None        # local worker processes; None: one per CPU core

    def __post_init__(self):
        check_output_format(self.output_format)
        try:
            Resizer(self.shorter_side, self.longest_side, self.quality)       # checks the sizes
        except ValueError as e:
            raise UserError(str(e)) from None

    def local_processes(self) -> int:
        return self.processes or os.cpu_count() or 1
