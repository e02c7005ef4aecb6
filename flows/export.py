"""The export stage of `build`: ``pipeline.export.export`` as one Prefect task, into HOME/export/<level>."""
from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

import pipeline.export as stage
from catalog import connect
from flows.config import BuildConfig
from pipeline.export import ExportSettings


def export_dir(home: str, settings: ExportSettings) -> Path:
    return Path(home) / "export" / (settings.level if settings.partitioner == "geographic" else settings.partitioner)


@task(name="export", cache_policy=NO_CACHE)
def export_task(catalog: str, out: str, home: str, settings: ExportSettings) -> dict:
    return stage.export(connect(catalog), out, home, settings)


def export_stage(cfg: BuildConfig, prefect: bool = True) -> dict:
    out = export_dir(cfg.home, cfg.export)
    s = (export_task if prefect else export_task.fn)(cfg.catalog, str(out), cfg.home, cfg.export)
    return {"manifest": str(out / "manifest.parquet"), "partitions": {n: sum(c.values()) for n, c in
                                                                      s["label_counts"].items()},
            "dropped": s["dropped"], "test_size": s["test_size"], "split_grouping": s["split_grouping"],
            "datasheet": str(out / stage.DATASHEET)}
