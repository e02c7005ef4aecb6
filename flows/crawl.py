"""The crawl flow: ``pipeline.crawl.crawl`` with one Prefect task per class on ``settings.workers`` threads."""
from __future__ import annotations

import re

from prefect import flow

import pipeline.crawl as stage
from catalog import connect
from flows.config import BuildConfig
from flows.dask import task_map
from pipeline.crawl import CrawlSettings


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@flow(name="crawl", flow_run_name="crawl")
def crawl_flow(catalog: str, settings: CrawlSettings) -> dict:
    """Parameters hold no secret: the key and secret are read from the environment or key file inside."""
    per_class = task_map("crawl-class", lambda c: f"crawl-{_slug(c.name)}", workers=settings.workers, retries=2,
                         retry_delay_seconds=[2, 10])
    return stage.crawl(connect(catalog), settings, map_classes=per_class, show_progress=False)


def crawl_stage(cfg: BuildConfig, prefect: bool = True) -> dict:
    if prefect:
        return crawl_flow(cfg.catalog, cfg.crawl)
    return stage.crawl(connect(cfg.catalog), cfg.crawl, show_progress=False)
