"""The dedup stage of `build`: ``pipeline.dedup.dedup_catalog`` as one Prefect task (or, without Prefect, the
function it wraps)."""
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


def dedup_stage(cfg: BuildConfig, prefect: bool = True) -> dict:
    return (dedup_task if prefect else dedup_task.fn)(cfg.catalog, cfg.home, cfg.dedup)
