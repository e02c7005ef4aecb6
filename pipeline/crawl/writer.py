"""The crawl's one catalog writer: lands queued work in order, several pages per transaction (group commit).

Class crawlers fetch pages and ``put`` what each page changes (its photos and its window's progress) on one FIFO
queue; the writer thread lands the queue in transactions of up to ``COMMIT_ROWS`` photos or ``COMMIT_SECONDS`` of
work, whichever comes first. A transaction always holds a prefix of the queue, so after a kill -9 the catalog is
the state after some page of each class: its photos and its window's ``next_page`` together, as with one page per
transaction. A kill loses at most the pages fetched in the last ``COMMIT_SECONDS`` (fetched again on resume; a
photo cannot land twice). One page per transaction cost ~27 ms of CPU (insert + commit); 16 pages ~5 ms per page.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from catalog.db import transaction
from pipeline.crawl.pages import PHOTO_SCHEMA

COMMIT_ROWS = 10_000        # photos per transaction at most (40 pages)
COMMIT_SECONDS = 1.0        # a fetched page waits at most this long for its commit
QUEUE_PAGES = 160           # pages waiting for the writer before fetchers block (memory bound)
# DuckDB checkpoints the WAL into the file every 16 MiB by default, and a checkpoint's cost grows with the table:
# 41% of the write CPU over 1.6M photos. At 64 MiB: 35% less write CPU; a kill -9 leaves at most 64 MiB to
# replay (~2 s) when the next run opens the catalog. Set for the crawl's duration (`crawl`), then restored.
CHECKPOINT_THRESHOLD = "64MiB"
PHOTO_COLUMNS = ", ".join(PHOTO_SCHEMA.names)
_write_lock = threading.Lock()   # one writer at a time per process: DuckDB transactions are optimistic


@dataclass
class PageOp:
    """One page: its photos and where its window stands after it."""
    result: object              # the class's ClassResult: new_photos is added when the page lands
    label_id: int
    window: tuple[int, int]     # (min_upload, max_upload)
    status: str                 # 'paging' or 'done'
    pages: int
    next_page: int
    total: int | None           # the window's total, known from its first page
    run_id: int
    photos: pa.Table            # PHOTO_SCHEMA rows, unique photo ids


@dataclass
class SplitOp:
    """A window over the cap replaced by its parts."""
    label_id: int
    window: tuple[int, int]
    total: int
    parts: list[tuple[int, int]]
    run_id: int


@dataclass
class WatermarkOp:
    """A class's range in progress is done: everything up to target_hi is in."""
    label_id: int


class _Flush:
    def __init__(self, stop: bool = False):
        self.done, self.stop = threading.Event(), stop


class WriterError(RuntimeError):
    pass


class CatalogWriter:
    """A thread that owns one cursor of ``con`` and lands ``put`` operations in order. ``flush()`` returns when
    everything put before it is committed; ``close()`` flushes and stops. A failed commit stops the writer: later
    calls raise, so nothing after the failed batch lands (the catalog keeps a prefix)."""

    def __init__(self, con, *, max_rows: int = COMMIT_ROWS, max_seconds: float = COMMIT_SECONDS,
                 max_queue: int = QUEUE_PAGES):
        self.con = con.cursor()
        self.max_rows, self.max_seconds = max_rows, max_seconds
        self._q: queue.Queue = queue.Queue(maxsize=max_queue)
        self._error: BaseException | None = None
        self.commits = 0
        self._thread = threading.Thread(target=self._loop, name="crawl-writer", daemon=True)
        self._thread.start()

    # ---- callers ---------------------------------------------------------------------------------
    def put(self, op) -> None:
        self._check()
        self._q.put(op)

    def flush(self) -> None:
        self._check()
        f = _Flush()
        self._q.put(f)
        f.done.wait()
        self._check()

    def close(self) -> None:
        if self._thread.is_alive():
            f = _Flush(stop=True)
            self._q.put(f)
            f.done.wait()
            self._thread.join()
        self._check()

    def _check(self) -> None:
        if self._error is not None:
            raise WriterError(f"writing the crawl to the catalog failed: {self._error}") from self._error

    # ---- the writer thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        batch, rows, deadline = [], 0, None
        while True:
            try:
                op = self._q.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                op = None                                   # the oldest op has waited max_seconds
            if op is not None and not isinstance(op, _Flush):
                batch.append(op)
                rows += op.photos.num_rows if isinstance(op, PageOp) else 0
                if deadline is None:
                    deadline = time.monotonic() + self.max_seconds
                if rows < self.max_rows:
                    continue
            if batch and self._error is None:
                try:
                    self._commit(batch)
                except BaseException as e:                  # keep draining so that nobody waits forever
                    self._error = e
            batch, rows, deadline = [], 0, None
            if isinstance(op, _Flush):
                op.done.set()
                if op.stop:
                    return

    def _commit(self, batch: list) -> None:
        """One transaction for the batch: splits, then photos and classes, then window progress, then
        watermarks. Equal to landing the ops one by one: a split comes before any page of its parts, a window's
        last page decides its state, and a class's watermark op follows all its pages."""
        pages = [op for op in batch if isinstance(op, PageOp)]
        con, credited = self.con, []
        with _write_lock, transaction(con):
            for op in batch:
                if isinstance(op, SplitOp):
                    con.execute("UPDATE crawl_windows SET status = 'split', total = ? WHERE label_id = ? "
                                "AND min_upload = ? AND max_upload = ?", [op.total, op.label_id, *op.window])
                    con.executemany("INSERT OR IGNORE INTO crawl_windows (label_id, min_upload, max_upload, status, "
                                    "run_id) VALUES (?, ?, ?, 'pending', ?)",
                                    [[op.label_id, a, b, op.run_id] for a, b in op.parts])
            if pages:
                credited = self._land_pages(con, pages)
            for op in batch:
                if isinstance(op, WatermarkOp):
                    con.execute("UPDATE crawl_watermarks SET watermark = target_hi, target_lo = NULL, "
                                "target_hi = NULL WHERE label_id = ?", [op.label_id])
        self.commits += 1
        for op, n in zip(pages, credited):
            op.result.new_photos += n

    @staticmethod
    def _land_pages(con, pages: list[PageOp]) -> list[int]:
        """Returns the photos new to the catalog per page."""
        photos = pa.concat_tables([op.photos for op in pages])
        owner = np.repeat(np.arange(len(pages)), [op.photos.num_rows for op in pages])   # page index per row
        ids = photos.column("photo_id").to_numpy()
        _, first = np.unique(ids, return_index=True)        # a photo on several pages: its first one lands
        first.sort()
        con.register("_photos", photos.take(first))
        try:
            # RETURNING: the photos new to the catalog, credited to the class of the page that brought them
            new = con.execute(f"INSERT INTO photos ({PHOTO_COLUMNS}, source) SELECT {PHOTO_COLUMNS}, 'crawl' "
                              "FROM _photos ON CONFLICT DO NOTHING RETURNING photo_id").fetchnumpy()["photo_id"]
        finally:
            con.unregister("_photos")
        labels = np.array([op.label_id for op in pages], dtype=np.int32)
        pairs = pa.table({"photo_id": ids, "label_id": labels[owner]})
        con.register("_pairs", pairs)
        try:
            con.execute("INSERT INTO photo_classes SELECT DISTINCT photo_id, label_id FROM _pairs "
                        "ON CONFLICT DO NOTHING")
        finally:
            con.unregister("_pairs")
        windows: dict[tuple, list] = {}                      # a window's last page in the batch decides its state
        for op in pages:
            key = (op.label_id, *op.window)
            prev = windows.get(key)
            total = op.total if op.total is not None else (prev[3] if prev else None)
            windows[key] = [op.status, op.pages, op.next_page, total, op.run_id]
        w = pa.table({
            "label_id": pa.array([k[0] for k in windows], pa.int32()),
            "min_upload": pa.array([k[1] for k in windows], pa.int64()),
            "max_upload": pa.array([k[2] for k in windows], pa.int64()),
            "status": pa.array([v[0] for v in windows.values()], pa.string()),
            "pages": pa.array([v[1] for v in windows.values()], pa.int32()),
            "next_page": pa.array([v[2] for v in windows.values()], pa.int32()),
            "total": pa.array([v[3] for v in windows.values()], pa.int32()),
            "run_id": pa.array([v[4] for v in windows.values()], pa.int32()),
        })
        con.register("_windows", w)
        try:
            con.execute("UPDATE crawl_windows AS c SET status = w.status, pages = w.pages, next_page = w.next_page, "
                        "total = coalesce(w.total, c.total), run_id = w.run_id FROM _windows AS w "
                        "WHERE c.label_id = w.label_id AND c.min_upload = w.min_upload "
                        "AND c.max_upload = w.max_upload")
        finally:
            con.unregister("_windows")
        return np.bincount(owner[first][np.isin(ids[first], new)], minlength=len(pages)).tolist()
