"""The dedup stage of `build`: ``pipeline.dedup.dedup_catalog`` as one Prefect task."""
from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

import pipeline.dedup as stage
from catalog import connect
from flows.config import BuildConfig
from pipeline.dedup import DedupSettings


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_task(catalog: str, home: str, settings: DedupSettings) -> dict:
    return stage.dedup_catalog(connect(catalog), home, settings, show_progress=False)


def dedup_stage(cfg: BuildConfig) -> dict:
    return dedup_task(cfg.catalog, cfg.home, cfg.dedup)
