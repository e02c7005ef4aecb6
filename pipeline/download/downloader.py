"""One shard: fetch, check, resize and write each photo; return its catalog rows. Never raises per photo."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from pipeline.download.fetcher import Fetcher, FetchError
from pipeline.download.reader import Job
from pipeline.download.resizer import Resizer
from pipeline.download.writer import WRITERS, check_output_format, shard_name

ROW_SCHEMA = pa.schema([("photo_id", pa.int64()), ("status", pa.string()), ("url", pa.string()), ("path", pa.string()),
                        ("bytes", pa.int64()), ("width", pa.int32()), ("height", pa.int32()), ("sha256", pa.string()),
                        ("error", pa.string()), ("attempts", pa.int32()), ("shard", pa.int64())])


@dataclass
class ShardSettings:
    home: str
    shorter_side: int | None = None
    longest_side: int | None = None
    quality: int = 95
    threads: int = 32
    per_host: int = 16
    timeout: float = 20.0
    attempts: int = 4
    output_format: str = "files"     # files | webdataset (writer.OUTPUT_FORMATS)

    def __post_init__(self):
        check_output_format(self.output_format)


def _one(job: Job, shard_id: int, fetcher: Fetcher, resizer: Resizer, writer) -> dict:
    row = dict(photo_id=job.photo_id, status="failed", url=None, path=None, bytes=None, width=None, height=None,
               sha256=None, error="no URL for this photo", attempts=0, shard=shard_id)
    for url in job.urls:
        row["url"] = url
        try:
            body, attempts = fetcher.get(url)
        except FetchError as e:
            row["attempts"] += fetcher.attempts if "gave up" in str(e) else 1
            row["error"] = str(e)
            if str(e).startswith("HTTP 404"):
                continue                      # try the next size
            return row
        row["attempts"] += attempts
        out = resizer(body)
        if out.error:
            row["error"] = out.error
            return row
        path, digest = writer.write(job.photo_id, job.label_id, job.class_name, out.data, out.width, out.height)
        row.update(status="ok", path=path, bytes=len(out.data), width=out.width, height=out.height, sha256=digest,
                   error=None)
        return row
    return row


def download_shard(shard_id: int, jobs: list[Job], settings: ShardSettings, progress=None,
                   name: str | None = None) -> pa.Table:
    """Rows for every job of the shard, in photo id order, returned after the writer has closed (for WebDataset:
    after the shard's tar is in place). ``name`` is the tar's name (default ``writer.shard_name(shard_id)``)."""
    fetcher = Fetcher(per_host=settings.per_host, timeout=settings.timeout, attempts=settings.attempts)
    resizer = Resizer(settings.shorter_side, settings.longest_side, settings.quality)
    writer = WRITERS[settings.output_format](settings.home, name or shard_name(shard_id))
    with ThreadPoolExecutor(max_workers=settings.threads) as pool:
        rows = []
        for row in pool.map(lambda j: _one(j, shard_id, fetcher, resizer, writer), jobs):
            rows.append(row)
            if progress:
                progress(1)
    writer.close()
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)
