"""Download, check, resize and store images: reader → fetcher → resizer → writer, one shard at a time."""
from __future__ import annotations

import time

from catalog.db import write_arrow
from pipeline.download.downloader import ROW_SCHEMA, ShardSettings, download_shard
from pipeline.download.reader import DEFAULT_STATIC_BASE, Job, read_jobs, recorded_shards, shard
from pipeline.download.writer import OUTPUT_FORMATS, open_image, read_image, shard_name

__all__ = ["DEFAULT_STATIC_BASE", "Job", "OUTPUT_FORMATS", "ROW_SCHEMA", "ShardSettings", "download", "download_shard",
           "open_image", "read_image", "read_jobs", "recorded_shards", "shard", "shard_name", "write_rows"]


def write_rows(con, rows) -> None:
    """One shard's rows in one transaction (after its files, or its closed tar, are on disk)."""
    write_arrow(con, "INSERT OR REPLACE INTO downloads SELECT * FROM _batch", rows)


def download(con, home: str, *, static_base: str | None = None, shorter_side: int | None = None,
             longest_side: int | None = None, quality: int = 95, threads: int = 32, per_host: int = 16,
             timeout: float = 20.0, attempts: int = 4, shard_size: int = 256, retry_failed: bool = False,
             output_format: str = "files", show_progress: bool = True) -> dict:
    """Download every photo of the catalog that has no file yet. Rerunning resumes.

    ``output_format``: ``files`` (``images/<class>/<photo id>.jpg``) or ``webdataset`` (``shards/<shard>.tar``).
    """
    from tqdm import tqdm

    settings = ShardSettings(home, shorter_side, longest_side, quality, threads, per_host, timeout, attempts,
                             output_format)
    jobs = read_jobs(con, static_base, retry_failed)
    taken = recorded_shards(con)
    t0 = time.perf_counter()
    ok = failed = 0
    with tqdm(total=len(jobs), unit="img", desc="download", disable=not show_progress) as bar:
        for shard_id, part in shard(jobs, shard_size):
            rows = download_shard(shard_id, part, settings, bar.update, shard_name(shard_id, taken))
            write_rows(con, rows)
            n_ok = sum(1 for s in rows["status"].to_pylist() if s == "ok")
            ok, failed = ok + n_ok, failed + len(part) - n_ok
    dt = time.perf_counter() - t0
    return {"downloaded": ok, "failed": failed, "seconds": round(dt, 2),
            "img_per_s": round(ok / dt, 1) if dt > 0 and ok else 0.0}
