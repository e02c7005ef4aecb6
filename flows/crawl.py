"""The crawl flow: one Prefect task per class; windows and pages are batched inside it."""
from __future__ import annotations

import re

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from catalog import connect, load_classes, select_classes
from flows.config import BuildConfig
from pipeline.crawl import FlickrClient, crawl_class, finish_run, load_credentials, start_run, upload_range


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@task(name="crawl-class", task_run_name="crawl-{slug}", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def crawl_class_task(catalog: str, api_url: str | None, label_id: int, slug: str, run_id: int, lo: int, hi: int,
                     rate: float, timeout: float, key_file: str | None, classes_file: str | None) -> dict:
    from dataclasses import asdict

    cls = next(c for c in load_classes(classes_file) if c.label_id == label_id)
    client = FlickrClient(load_credentials(key_file), api_url, calls_per_hour=rate, timeout=timeout)
    con = connect(catalog)
    return asdict(crawl_class(con, client, cls, run_id, lo, hi))


@flow(name="crawl", flow_run_name="crawl-{classes_label}", task_runner=ThreadPoolTaskRunner(max_workers=4))
def crawl_flow(catalog: str, api_url: str | None = None, classes: list[str] | None = None,
               classes_file: str | None = None, min_upload_date: str | None = None,
               max_upload_date: str | None = None, rate: float = 3600.0, timeout: float = 20.0,
               key_file: str | None = None, classes_label: str = "all") -> dict:
    """Parameters hold no secret: the key and secret are read from the environment or key file inside."""
    chosen = select_classes(load_classes(classes_file), classes)
    lo, hi = upload_range(min_upload_date, max_upload_date)
    client = FlickrClient(load_credentials(key_file), api_url, calls_per_hour=rate, timeout=timeout)
    con = connect(catalog)
    run_id = start_run(con, client, chosen)
    futures = [crawl_class_task.submit(catalog, api_url, c.label_id, _slug(c.name), run_id, lo, hi, rate, timeout,
                                       key_file, classes_file) for c in chosen]
    from pipeline.crawl.crawler import ClassResult

    try:
        results = [ClassResult(**f.result()) for f in futures]
    except BaseException:
        finish_run(con, run_id, [], "failed")
        raise
    return finish_run(con, run_id, results, "done")


def crawl_stage(cfg: BuildConfig) -> dict:
    label = "all" if not cfg.classes else "-".join(_slug(c) for c in cfg.classes)[:60]
    return crawl_flow(cfg.catalog, cfg.api_url, cfg.classes or None, cfg.classes_file, cfg.min_upload_date,
                      cfg.max_upload_date, cfg.rate, cfg.api_timeout, cfg.key_file, label)
