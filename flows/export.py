"""The export stage of `build`: geographic partitions of what was kept, for the train stage."""
from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from catalog import connect
from flows.config import BuildConfig
from pipeline.export import export


@task(name="export", cache_policy=NO_CACHE)
def export_task(catalog: str, home: str, level: str, min_size: int, test_fraction: float, seed: int) -> dict:
    s = export(connect(catalog), Path(home) / "export" / level, home, level=level, min_size=min_size,
               test_fraction=test_fraction, seed=seed)
    sizes = {n: sum(c.values()) for n, c in s["label_counts"].items()}
    return {"manifest": str(Path(home) / "export" / level / "manifest.parquet"), "partitions": sizes,
            "dropped": s["dropped"], "test_size": s["test_size"]}


def export_stage(cfg: BuildConfig) -> dict:
    return export_task(cfg.catalog, cfg.home, cfg.export_level, cfg.export_min_partition_size,
                       cfg.export_test_fraction, cfg.seed)
