"""The download flow: ``pipeline.download.download`` with one Prefect task per shard (threads, or a Dask cluster);
the flow alone writes the catalog."""
from __future__ import annotations

from prefect import flow

import pipeline.download as stage
from catalog import connect
from flows.config import BuildConfig
from flows.dask import task_map
from pipeline.download import DownloadSettings


@flow(name="download", flow_run_name="download")
def download_flow(catalog: str, home: str, settings: DownloadSettings, dask_address: str | None = None) -> dict:
    per_shard = task_map("download-shard", lambda s: f"download-shard-{s.name}", address=dask_address,
                         workers=settings.local_processes(), retries=2, retry_delay_seconds=5)
    return stage.download(connect(catalog), home, settings, map_shards=per_shard, show_progress=False)


def download_stage(cfg: BuildConfig, prefect: bool = True) -> dict:
    if prefect:
        return download_flow(cfg.catalog, cfg.home, cfg.download, cfg.dask_address)
    return stage.download(connect(cfg.catalog), cfg.home, cfg.download, show_progress=False)
