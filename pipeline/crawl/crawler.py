"""Crawl one class: split upload-date windows under the 4,000 cap, page through them, land each page with its
window's progress (through the crawl's one writer, several pages per transaction: pipeline/crawl/writer.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from catalog.classes import MammalClass
from catalog.db import transaction
from pipeline.crawl.client import EXTRAS, FlickrClient
from pipeline.crawl.pages import page_table
from pipeline.crawl.writer import CatalogWriter, PageOp, SplitOp, WatermarkOp, _write_lock

RESULT_CAP = 4000           # Flickr serves only the first 4,000 results of a query
PER_PAGE = 250              # the most a geo query returns per page
SPLIT_TARGET = 3750         # aim windows a little under the cap so each is paged exactly once
FLICKR_EPOCH = 1072915200   # 2004-01-01: nothing was uploaded before


def to_unix(value: str | None, default: int) -> int:
    if not value:
        return default
    try:
        return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())
    except ValueError:
        from catalog.errors import UserError
        raise UserError(f"upload date {value!r} is not an ISO date like 2019-06-30") from None


@dataclass
class ClassResult:
    label_id: int
    api_calls: int = 0
    pages: int = 0
    windows_done: int = 0
    windows_split: int = 0
    new_photos: int = 0


class ClassCrawler:
    """Resumable crawl of one class query. All state lives in the catalog, so any process can pick it up: the
    class's open windows are read once at the start, then followed in memory while the writer lands each page
    with its window's progress."""

    def __init__(self, con, client: FlickrClient, cls: MammalClass, run_id: int, writer: CatalogWriter):
        self.con, self.client, self.cls, self.run_id, self.writer = con, client, cls, run_id, writer
        self.result = ClassResult(cls.label_id)

    def _search(self, lo: int, hi: int, page: int) -> dict:
        self.result.api_calls += 1
        return self.client.search(text=self.cls.search_text, has_geo=1, min_upload_date=lo, max_upload_date=hi,
                                  sort="date-posted-asc", extras=EXTRAS, per_page=PER_PAGE, page=page)["photos"]

    def plan(self, lo: int, hi: int) -> tuple[int, int] | None:
        """Resume the class's range in progress, or start [max(lo, watermark+1), hi]."""
        lid = self.cls.label_id
        with _write_lock, transaction(self.con):
            row = self.con.execute("SELECT watermark, target_lo, target_hi FROM crawl_watermarks WHERE label_id = ?",
                                   [lid]).fetchall()
            row = row[0] if row else None
            if row and row[2] is not None:
                return row[1], row[2]
            start = max(lo, (row[0] + 1) if row and row[0] is not None else lo)
            if start > hi:
                return None
            self.con.execute("INSERT OR REPLACE INTO crawl_watermarks VALUES (?, ?, ?, ?)",
                             [lid, row[0] if row else None, start, hi])
            self.con.execute("INSERT OR IGNORE INTO crawl_windows (label_id, min_upload, max_upload, status, run_id) "
                             "VALUES (?, ?, ?, 'pending', ?)", [lid, start, hi, self.run_id])
            return start, hi

    def _open_windows(self) -> list[tuple]:
        """(min_upload, max_upload, status, pages, next_page) of the class's unfinished windows, oldest first."""
        return self.con.execute(
            "SELECT min_upload, max_upload, status, pages, next_page FROM crawl_windows "
            "WHERE label_id = ? AND status IN ('pending', 'paging') ORDER BY min_upload",
            [self.cls.label_id]).fetchall()

    def run(self, lo: int, hi: int, progress=None) -> ClassResult:
        self.writer.flush()      # a retried class task reads what its earlier attempt fetched
        target = self.plan(lo, hi)
        if target is None:
            return self.result
        windows = self._open_windows()
        while windows:
            wlo, whi, status, pages, next_page = windows.pop(0)
            if status == "pending":
                first = self._search(wlo, whi, 1)
                total = int(first["total"])
                if total >= RESULT_CAP and whi > wlo:
                    windows[:0] = [(a, b, "pending", None, 1) for a, b in self._split(wlo, whi, total)]
                    continue
                pages = max(1, math.ceil(total / PER_PAGE))
                self._land(wlo, whi, first, 1, pages, total)
                next_page = 2
            for page in range(next_page, pages + 1):
                self._land(wlo, whi, self._search(wlo, whi, page), page, pages, None)
                if progress:
                    progress(1)
            self.result.windows_done += 1
        self.writer.put(WatermarkOp(self.cls.label_id))
        self.writer.flush()      # the result's new_photos count is complete once its pages have landed
        return self.result

    def _split(self, lo: int, hi: int, total: int) -> list[tuple[int, int]]:
        """Replace a window over the cap by k equal-time parts (k from its total), in one transaction."""
        k = max(2, math.ceil(total / SPLIT_TARGET))
        edges = [lo + (hi - lo + 1) * i // k for i in range(k)] + [hi + 1]
        parts = [(a, b - 1) for a, b in zip(edges, edges[1:]) if b - 1 >= a]
        self.writer.put(SplitOp(self.cls.label_id, (lo, hi), total, parts, self.run_id))
        self.result.windows_split += 1
        return parts

    def _land(self, lo: int, hi: int, photos: dict, page: int, pages: int, total: int | None) -> None:
        """Photos of one page and the window's progress, together or not at all (in the writer's next batch)."""
        self.writer.put(PageOp(self.result, self.cls.label_id, (lo, hi), "done" if page >= pages else "paging",
                               pages, page + 1, total, self.run_id, page_table(photos.get("photo", []))))
        self.result.pages += 1
