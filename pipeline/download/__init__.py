"""Download, check, resize and store images: reader → fetcher → resizer → writer, one shard at a time."""
from __future__ import annotations

import functools
import time

from catalog.db import write_arrow
from pipeline.download.downloader import ROW_SCHEMA, Shard, download_shard
from pipeline.download.reader import DEFAULT_STATIC_BASE, Job, read_jobs, recorded_shards, shard
from pipeline.download.settings import DownloadSettings
from pipeline.download.writer import OUTPUT_FORMATS, shard_name

__all__ = ["DEFAULT_STATIC_BASE", "DownloadSettings", "Job", "OUTPUT_FORMATS", "ROW_SCHEMA", "Shard", "download",
           "download_shard", "read_jobs", "recorded_shards", "shard", "shard_name", "write_rows"]


def write_rows(con, rows) -> None:
    """One shard's rows in one transaction (after its files, or its closed tar, are on disk)."""
    write_arrow(con, "INSERT OR REPLACE INTO downloads SELECT * FROM _batch", rows)


def download(con, home: str, settings: DownloadSettings | None = None, *, map_shards=None,
             show_progress: bool = True) -> dict:
    """The download stage, with or without Prefect: every photo of the catalog that has no file yet. Rerunning resumes.

    ``map_shards(fn, shards)`` runs ``fn`` (``download_shard`` bound to the home and settings) on every ``Shard``
    and yields each shard's rows as it finishes; the default runs them in ``settings.local_processes()`` worker
    processes (decoding and re-encoding hold the GIL often enough that one process cannot keep two cores busy).
    The Prefect flow passes one task per shard on a thread pool or a Dask cluster. Either way this process alone
    writes the catalog, a shard's rows after its files.
    """
    from tqdm import tqdm

    settings = settings or DownloadSettings()
    jobs = read_jobs(con, settings.static_base, settings.retry_failed)
    taken = recorded_shards(con)
    shards = [Shard(sid, shard_name(sid, taken), part) for sid, part in shard(jobs, settings.shard_size)]
    t0 = time.perf_counter()
    ok = failed = 0
    mapper = map_shards or functools.partial(_local_map, settings.local_processes())
    with tqdm(total=len(jobs), unit="img", desc="download", disable=not show_progress) as bar:
        for rows in mapper(functools.partial(download_shard, str(home), settings), shards):
            write_rows(con, rows)
            n_ok = sum(1 for s in rows["status"].to_pylist() if s == "ok")
            ok, failed = ok + n_ok, failed + rows.num_rows - n_ok
            bar.update(rows.num_rows)
    dt = time.perf_counter() - t0
    return {"downloaded": ok, "failed": failed, "shards": len(shards), "seconds": round(dt, 2),
            "img_per_s": round(ok / dt, 1) if dt > 0 and ok else 0.0}


def _local_map(processes: int, fn, shards):
    """Each shard's rows as it finishes: in this process, or from a pool of worker processes."""
    if processes <= 1 or len(shards) <= 1:
        yield from map(fn, shards)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=processes, mp_context=mp.get_context("spawn"),
                             initializer=_die_with_parent) as pool:
        for f in as_completed([pool.submit(fn, s) for s in shards]):
            yield f.result()


def _die_with_parent() -> None:
    """A worker must not outlive a killed download (kill -9 leaves no orphan writing files)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
