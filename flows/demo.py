"""The demo: start the offline Flickr service, run `build` on it, and summarise what landed."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from catalog import connect
from flows.config import BuildConfig
from flows.stages import TrainSettings
from pipeline.crawl.settings import CrawlSettings
from pipeline.download.settings import DownloadSettings
from pipeline.export.settings import ExportSettings
from pipeline.filter.settings import FilterSettings

DEMO_SCALE = 0.002    # ~3,300 candidate photos over 42 classes: minutes on 2 cores, all stages
DEMO_TRAIN_CONFIG = "demo_geo.toml"


def run_demo(home: str = "flickr-mammal-data/demo", scale: float = DEMO_SCALE, seed: int = 0, faults: str = "",
             stages: list[str] | None = None, fresh: bool = True) -> dict:
    from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, Faults, SimServer, World

    home_path = Path(home)
    if fresh and home_path.exists():
        shutil.rmtree(home_path)
    home_path.mkdir(parents=True, exist_ok=True)
    catalog = str(home_path / "catalog.duckdb")
    t0 = time.perf_counter()
    world = World(seed, scale)
    with SimServer(world, faults=Faults.parse(faults)) as server:
        # the demo key belongs to the offline service; real keys come from the user's environment
        os.environ["FLICKR_API_KEY"], os.environ["FLICKR_API_SECRET"] = DEMO_API_KEY, DEMO_API_SECRET
        con = connect(catalog)
        world.write_truth(con)
        con.close()
        import training
        train_cfg = Path(training.__file__).parent / "configs" / DEMO_TRAIN_CONFIG
        settings = {"crawl": CrawlSettings(api_url=server.rest_url, rate=1e7, timeout=5.0,
                                           max_upload_date="2021-01-01"),
                    "download": DownloadSettings(static_base=server.static_base),
                    "filter": FilterSettings(train=True, model="mobilenetv3_small_050", threshold=0.15),
                    # the demo trains here on the whole world (78% of its photos are All Rights Reserved, as in the
                    # release): a private export, whose card says it must not be shared; `export` alone is open-only
                    "export": ExportSettings(licenses="all", private=True),
                    "train": TrainSettings(config=str(train_cfg) if train_cfg.is_file() else None)}
        cfg = BuildConfig(catalog=catalog, home=str(home_path), settings=settings,
                          **({"stages": stages} if stages else {}))
        from flows.build import build_flow
        from flows.engine import run_flow

        summary = run_flow(build_flow, cfg)
        api = dict(server.stats)
    summary["_demo"] = {"catalog": catalog, "seconds": round(time.perf_counter() - t0, 1),
                        "world_photos": world.num_photos,
                        "api_calls": sum(v for k, v in api.items() if k.startswith("api:")),
                        "images_served": api.get("images", 0)}
    return summary


def print_summary(summary: dict) -> None:
    demo = summary.get("_demo", {})
    con = connect(demo["catalog"], read_only=True)
    rows = con.execute("SELECT c.name, count(pc.photo_id) FROM classes c LEFT JOIN photo_classes pc USING (label_id) "
                       "GROUP BY ALL ORDER BY 2 DESC").fetchall()
    print(f"\n== flickr-mammal demo: offline Flickr world of {demo['world_photos']} photos ==")
    print("photos by class: " + ", ".join(f"{n} {k}" for n, k in rows))
    print(f"API calls served: {demo['api_calls']}, images served: {demo['images_served']}")
    for stage, out in summary.items():
        if stage.startswith("_"):
            continue
        text = out.get("text") if isinstance(out, dict) else None
        brief = ({k: v for k, v in out.items() if k not in ("classes", "text", "table", "vs_ground_truth")}
                 if isinstance(out, dict) else out)
        print(f"\n-- {stage} ({out.get('seconds', '?')} s): {brief}")
        if text:
            print(text)
        if stage == "filter" and "vs_ground_truth" in out:
            print_filter_truth(out["vs_ground_truth"])
    st = None
    if "geocode" in summary:
        from pipeline.analytics import stats

        st = stats(con, "continent", "ours")
    if st and st["regions"]:       # none when no photo is kept yet (--stages without download)
        import numpy as np

        from flows.text import label_table
        from pipeline.analytics import plot_heatmap

        png = Path(demo["catalog"]).parent / "plots" / "heatmap_continent.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        plot_heatmap(st["regions"], st["labels"], np.array(st["counts"]), png,
                     "Kept photos: where each class was photographed (offline world)")
        print("\nkept photos, class x continent:")
        print(label_table(st))
        print(f"heatmap: {png}")
    if "datasheet" in summary.get("export", {}):
        print(f"datasheet: {summary['export']['datasheet']}")
    print(f"\ncatalog: {demo['catalog']}   total {demo['seconds']} s")
    print(f"try: flickr-mammal sql --catalog {demo['catalog']} \"SELECT * FROM classes LIMIT 5\"")


def print_filter_truth(ev: dict) -> None:
    """The filter judged on photos its classifier never trained on, beside the (optimistic) in-sample figures."""
    print(f"filter vs ground truth, {ev['sample']} photos ({ev['decisions']} decisions): precision {ev['precision']}, "
          f"recall {ev['recall']}")
    if "in_sample" in ev:
        ins = ev["in_sample"]
        print(f"  in sample (trained on, optimistic; {ins['decisions']} decisions): precision {ins['precision']}, "
              f"recall {ins['recall']}")
    print("  held-out recall by class: " + ", ".join(f"{c} {r:.2f}" for c, r in ev["recall_by_class"].items()))
    print("  classes the filter drops entirely: " + (", ".join(ev["dropped_classes"]) or "none"))
