"""A crawl run: check the key, record the run, crawl each class, record the outcome."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime

from catalog.classes import MammalClass, sync_classes
from catalog.db import transaction
from pipeline.crawl.client import FlickrClient
from pipeline.crawl.crawler import FLICKR_EPOCH, ClassCrawler, ClassResult, to_unix
from pipeline.crawl.credentials import Credentials, load_credentials
from pipeline.crawl.settings import CrawlSettings
from pipeline.crawl.writer import CHECKPOINT_THRESHOLD, CatalogWriter, _write_lock


def upload_range(min_upload_date: str | None, max_upload_date: str | None) -> tuple[int, int]:
    return to_unix(min_upload_date, FLICKR_EPOCH), to_unix(max_upload_date, int(time.time()))


def start_run(con, client: FlickrClient, classes: list[MammalClass]) -> int:
    """Checks the key first: an invalid key writes nothing, not even a run row."""
    client.check_key()
    with _write_lock, transaction(con):
        sync_classes(con, classes)
        run_id = con.execute("SELECT nextval('crawl_run_ids')").fetchall()[0][0]
        con.execute("INSERT INTO crawl_runs (run_id, started_at, api_url, status, classes) "
                    "VALUES (?, ?, ?, 'running', ?)",
                    [run_id, datetime.now(UTC).replace(tzinfo=None), client.api_url,
                     [c.label_id for c in classes]])
    return run_id


def crawl_class(con, client: FlickrClient, cls: MammalClass, run_id: int, lo: int, hi: int,
                progress=None, writer: CatalogWriter | None = None) -> ClassResult:
    """One class, its pages landed by ``writer`` (the run's shared one; default: a writer of its own)."""
    own = writer is None
    writer = writer or CatalogWriter(con)
    try:
        return ClassCrawler(con.cursor(), client, cls, run_id, writer).run(lo, hi, progress)
    finally:
        if own:
            writer.close()


def finish_run(con, run_id: int, results: list[ClassResult], status: str, extra_calls: int = 1) -> dict:
    calls = sum(r.api_calls for r in results) + extra_calls
    new = sum(r.new_photos for r in results)
    with _write_lock, transaction(con):
        con.execute("UPDATE crawl_runs SET finished_at = ?, status = ?, api_calls = ?, new_photos = ? WHERE run_id = ?",
                    [datetime.now(UTC).replace(tzinfo=None), status, calls, new, run_id])
    return {"run_id": run_id, "status": status, "api_calls": calls, "new_photos": new,
            "classes": [asdict(r) for r in results]}


def prepare(settings: CrawlSettings, credentials: Credentials | None = None):
    """Everything checked before a write: the classes, the upload dates and where the key comes from.
    Returns (classes, lo, hi, client)."""
    classes = settings.chosen_classes()
    lo, hi = upload_range(settings.min_upload_date, settings.max_upload_date)
    client = FlickrClient(credentials or load_credentials(settings.key_file), settings.api_url,
                          calls_per_hour=settings.rate, timeout=settings.timeout)
    return classes, lo, hi, client


def _threads(workers: int):
    def run(fn, items):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(fn, items)
    return run


def crawl(con, settings: CrawlSettings, *, credentials: Credentials | None = None, map_classes=None,
          show_progress: bool = True) -> dict:
    """The crawl stage, with or without Prefect: check the key, record the run, crawl each class, record the outcome.

    ``map_classes(fn, classes)`` runs ``fn`` on every class and yields the results (default: a pool of
    ``settings.workers`` threads; the Prefect flow passes one task per class on a runner of as many workers).
    ``credentials`` default to ``load_credentials(settings.key_file)``.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    classes, lo, hi, client = prepare(settings, credentials)
    run_id = start_run(con, client, classes)
    bar = tqdm(total=None, unit="page", desc="crawl", disable=not show_progress)
    results: list[ClassResult] = []
    writer = CatalogWriter(con)          # one writer for all classes: several pages per transaction
    checkpoint = con.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
    con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    try:
        for r in (map_classes or _threads(settings.workers))(
                lambda cls: crawl_class(con, client, cls, run_id, lo, hi, bar.update, writer), classes):
            results.append(r)
        writer.close()
    except BaseException:
        try:
            writer.close()               # the pages fetched before the failure still land
        except Exception:
            pass
        finish_run(con, run_id, results, "failed")
        raise
    finally:
        bar.close()
        con.execute(f"SET checkpoint_threshold = '{checkpoint}'")
    out = finish_run(con, run_id, results, "done")
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out
