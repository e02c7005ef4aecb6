"""The geocode stage of `build`."""
from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog import connect
from flows.config import BuildConfig
from pipeline.geocode import geocode_catalog


@task(name="geocode", cache_policy=NO_CACHE)
def geocode_task(catalog: str) -> dict:
    return geocode_catalog(connect(catalog))


def geocode_stage(cfg: BuildConfig) -> dict:
    return geocode_task(cfg.catalog)
