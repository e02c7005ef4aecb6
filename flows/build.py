"""The `build` flow: the registered stages (flows/stages.py) in pipeline order, as one Prefect flow."""
from __future__ import annotations

from prefect import flow, get_run_logger

from flows.config import BuildConfig
from flows.stages import run_stages


@flow(name="build", flow_run_name="build-{cfg.export.level}")
def build_flow(cfg: BuildConfig) -> dict:
    """Runs the stages named in ``cfg.stages`` in pipeline order; returns each stage's summary and time."""
    return run_stages(cfg, prefect=True, log=get_run_logger().info)
