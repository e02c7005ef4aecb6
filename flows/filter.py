"""The filter flow: ``pipeline.filter.filter_photos`` with one Prefect task per shard of photos (threads, or a Dask
cluster); the flow alone writes the catalog."""
from __future__ import annotations

from prefect import flow

import pipeline.filter as stage
from catalog import connect
from flows.config import BuildConfig
from flows.dask import task_map
from pipeline.filter import FilterSettings


@flow(name="filter", flow_run_name="filter-{settings.model}")
def filter_flow(catalog: str, home: str, settings: FilterSettings, dask_address: str | None = None) -> dict:
    per_shard = task_map("filter-score-shard", lambda photos: f"filter-shard-{photos[0][0]}", address=dask_address,
                         retries=1)
    return stage.filter_photos(connect(catalog), home, settings, map_shards=per_shard, show_progress=False)


def filter_stage(cfg: BuildConfig, prefect: bool = True) -> dict:
    if prefect:
        return filter_flow(cfg.catalog, cfg.home, cfg.filter, cfg.dask_address)
    return stage.filter_photos(connect(cfg.catalog), cfg.home, cfg.filter, show_progress=False)
