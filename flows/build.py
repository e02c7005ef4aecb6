"""The `build` flow: crawl → download → dedup → filter → geocode → export → train, each stage from its own module."""
from __future__ import annotations

import importlib
import time

from prefect import flow, get_run_logger

from catalog.errors import UserError
from flows.config import STAGES, BuildConfig


def stage_function(stage: str):
    """``flows.<stage>.<stage>_stage``."""
    if stage not in STAGES:
        raise UserError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    return getattr(importlib.import_module(f"flows.{stage}"), f"{stage}_stage")


@flow(name="build", flow_run_name="build-{cfg.export.level}")
def build_flow(cfg: BuildConfig) -> dict:
    """Runs the stages named in ``cfg.stages`` in pipeline order; returns each stage's summary and time."""
    log = get_run_logger()
    summary: dict[str, dict] = {}
    for stage in STAGES:
        if stage not in cfg.stages:
            continue
        fn = stage_function(stage)
        t0 = time.perf_counter()
        out = fn(cfg) or {}
        out["seconds"] = round(time.perf_counter() - t0, 2)
        summary[stage] = out
        log.info("stage %s done in %.1f s", stage, out["seconds"])
    return summary
