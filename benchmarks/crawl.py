"""Crawl several classes over Flickr's 4,000 cap from the offline service: photos/s, API calls against the ideal
(Σ ceil(n/250) + split probes), and Prefect's share of wall time (the same crawl with and without Prefect).

    .venv/bin/python benchmarks/crawl.py [--scale 0.3] [--classes Cat,Deer,Dog...]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from catalog import connect, load_classes, select_classes
from pipeline.crawl import CrawlSettings, Credentials, crawl
from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, SimServer, World


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--classes", default="Cat,Deer,Monkey,Elephant")
    a = ap.parse_args()
    classes = select_classes(load_classes(), a.classes.split(","))
    world = World(0, a.scale, classes=classes)
    sizes = {lid: len(ix.rows) for lid, ix in world.index.items()}
    ideal_pages = sum(-(-n // 250) for n in sizes.values())
    names = a.classes.split(",")
    os.environ["FLICKR_API_KEY"], os.environ["FLICKR_API_SECRET"] = DEMO_API_KEY, DEMO_API_SECRET
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory() as d, SimServer(world) as s:
        settings = CrawlSettings(api_url=s.rest_url, classes=names, max_upload_date="2021-01-01", rate=1e9)
        con = connect(Path(d) / "plain.duckdb")
        t0 = time.perf_counter()
        out = crawl(con, settings, credentials=Credentials(DEMO_API_KEY, DEMO_API_SECRET), show_progress=False)
        plain = time.perf_counter() - t0
        con.close()
        splits = sum(c["windows_split"] for c in out["classes"])
        from flows.crawl import crawl_flow
        crawl_flow(str(Path(d) / "warm.duckdb"), CrawlSettings(api_url=s.rest_url, classes=["Skunk"],
                                                               max_upload_date="2021-01-01", rate=1e9))
        t0 = time.perf_counter()
        crawl_flow(str(Path(d) / "prefect.duckdb"), settings)
        flowed = time.perf_counter() - t0
        empty = _empty_flow_seconds(len(classes))
    calls = out["api_calls"] - 1      # minus the key check
    print(f"\nclasses {a.classes}: sizes {list(sizes.values())} (cap 4,000), "
          f"{sum(sizes.values())} (photo, class) pairs")
    print(f"{'':<28}{'value':>12}")
    print(f"{'photos/s (no Prefect)':<28}{out['new_photos'] / plain:>12.0f}")
    print(f"{'API search calls':<28}{calls:>12}")
    print(f"{'ideal Σceil(n/250)+probes':<28}{ideal_pages + splits:>12}   "
          f"({ideal_pages} pages + {splits} split probes)")
    print(f"{'calls / ideal':<28}{calls / (ideal_pages + splits):>12.3f}   (goal ≤ 1.05)")
    print(f"{'wall without Prefect (s)':<28}{plain:>12.2f}")
    print(f"{'wall with Prefect (s)':<28}{flowed:>12.2f}")
    print(f"{'Prefect share of wall':<28}{max(0.0, flowed - plain) / flowed:>12.1%}   (goal < 5%)")
    print(f"{'empty flow, same tasks (s)':<28}{empty:>12.2f}   (Prefect's fixed cost per flow run; at Flickr's "
          f"3,600 calls/hour these {calls} calls take {calls / 3600 * 60:.1f} min, "
          f"so its share is {empty / (calls + empty):.2%})")


def _empty_flow_seconds(n_tasks: int) -> float:
    """What a flow with the same number of do-nothing tasks costs: Prefect's fixed overhead, no crawling."""
    from prefect import flow, task
    from prefect.task_runners import ThreadPoolTaskRunner

    @task
    def nothing(i):
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def empty():
        return [f.result() for f in [nothing.submit(i) for i in range(n_tasks)]]

    empty()
    t0 = time.perf_counter()
    empty()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
