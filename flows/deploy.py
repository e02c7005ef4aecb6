"""Deployments: `build` (or `crawl`) on a cron or interval schedule, served by this process against a real
Prefect server (PREFECT_API_URL; start one with `prefect server start`)."""
from __future__ import annotations

import os
from dataclasses import asdict

from catalog.errors import UserError
from flows.config import BuildConfig


def serve_build(cfg: BuildConfig, name: str, cron: str | None = None, interval: float | None = None,
                limit: int | None = None) -> None:
    from prefect import serve

    from flows.build import build_flow

    if not os.environ.get("PREFECT_API_URL"):
        raise UserError("PREFECT_API_URL is not set: start a server (`PREFECT_SERVER_ANALYTICS_ENABLED=false prefect "
                        "server start`) and export PREFECT_API_URL=http://127.0.0.1:4200/api")
    if bool(cron) == bool(interval):
        raise UserError("give exactly one of --cron EXPR or --interval SECONDS")
    dep = build_flow.to_deployment(name=name, parameters={"cfg": asdict(cfg)}, cron=cron, interval=interval,
                                   tags=["flickr-mammal"],
                                   description=f"flickr-mammal build: {' → '.join(cfg.stages)}")
    serve(dep, limit=limit)
