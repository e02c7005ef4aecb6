"""One shard: fetch, check, resize and write each photo; return its catalog rows. Never raises per photo."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pyarrow as pa

from pipeline.download.fetcher import Fetcher, FetchError
from pipeline.download.reader import Job
from pipeline.download.resizer import Resizer
from pipeline.download.settings import DownloadSettings
from pipeline.download.writer import WRITERS

ROW_SCHEMA = pa.schema([("photo_id", pa.int64()), ("status", pa.string()), ("url", pa.string()), ("path", pa.string()),
                        ("bytes", pa.int64()), ("width", pa.int32()), ("height", pa.int32()), ("sha256", pa.string()),
                        ("error", pa.string()), ("attempts", pa.int32()), ("shard", pa.int64())])


class Shard(NamedTuple):
    shard_id: int          # the shard's first photo id (``reader.shard``)
    name: str              # its tar name (``writer.shard_name``)
    jobs: list[Job]


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


def download_shard(home: str, settings: DownloadSettings, shard: Shard) -> pa.Table:
    """Rows for every job of the shard, in photo id order, returned after the writer has closed (for WebDataset:
    after the shard's tar is in place). The one shard function of the local run and the Prefect/Dask flow."""
    fetcher = Fetcher(per_host=settings.per_host, timeout=settings.timeout, attempts=settings.attempts)
    resizer = Resizer(settings.shorter_side, settings.longest_side, settings.quality)
    writer = WRITERS[settings.output_format](home, shard.name)
    with ThreadPoolExecutor(max_workers=settings.threads) as pool:
        rows = list(pool.map(lambda j: _one(j, shard.shard_id, fetcher, resizer, writer), shard.jobs))
    writer.close()
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)
