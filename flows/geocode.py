"""The geocode stage of `build`: ``pipeline.geocode.geocode_catalog`` as one Prefect task."""
from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

import pipeline.geocode as stage
from catalog import connect
from flows.config import BuildConfig
from pipeline.geocode import GeocodeSettings


@task(name="geocode", cache_policy=NO_CACHE)
def geocode_task(catalog: str, settings: GeocodeSettings) -> dict:
    return stage.geocode_catalog(connect(catalog), settings)


def geocode_stage(cfg: BuildConfig, prefect: bool = True) -> dict:
    return (geocode_task if prefect else geocode_task.fn)(cfg.catalog, cfg.geocode)
