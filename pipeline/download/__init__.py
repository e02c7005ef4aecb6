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
             output_format: str = "files", processes: int = 1, show_progress: bool = True) -> dict:
    """Download every photo of the catalog that has no file yet. Rerunning resumes.

    ``output_format``: ``files`` (``images/<class>/<photo id>.jpg``) or ``webdataset`` (``shards/<shard>.tar``).
    ``processes`` > 1 runs shards in that many worker processes (decoding and re-encoding hold the GIL often enough
    that one process cannot keep two cores busy); this process alone writes the catalog, a shard's rows after
    its files.
    """
    from tqdm import tqdm

    settings = ShardSettings(home, shorter_side, longest_side, quality, threads, per_host, timeout, attempts,
                             output_format)
    jobs = read_jobs(con, static_base, retry_failed)
    taken = recorded_shards(con)
    t0 = time.perf_counter()
    ok = failed = 0
    with tqdm(total=len(jobs), unit="img", desc="download", disable=not show_progress) as bar:
        for rows in _shard_results(jobs, shard_size, settings, taken, processes, bar.update):
            write_rows(con, rows)
            n_ok = sum(1 for s in rows["status"].to_pylist() if s == "ok")
            ok, failed = ok + n_ok, failed + rows.num_rows - n_ok
    dt = time.perf_counter() - t0
    return {"downloaded": ok, "failed": failed, "seconds": round(dt, 2),
            "img_per_s": round(ok / dt, 1) if dt > 0 and ok else 0.0}


def _shard_results(jobs, shard_size, settings, taken, processes, progress):
    """Each shard's rows as it finishes: in this process, or from a pool of worker processes."""
    shards = list(shard(jobs, shard_size))
    if processes <= 1 or len(shards) <= 1:
        for shard_id, part in shards:
            yield download_shard(shard_id, part, settings, progress, shard_name(shard_id, taken))
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=processes, mp_context=mp.get_context("spawn"),
                             initializer=_die_with_parent) as pool:
        futures = {pool.submit(download_shard, sid, part, settings, None, shard_name(sid, taken)): len(part)
                   for sid, part in shards}
        for f in as_completed(futures):
            progress(futures[f])
            yield f.result()


def _die_with_parent() -> None:
    """A worker must not outlive a killed download (kill -9 leaves no orphan writing files)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
