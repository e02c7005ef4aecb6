"""`flickr-mammal download`."""
from __future__ import annotations

HELP = "download, check and (optionally) resize the catalog's photos; rerun to resume"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument, add_prefect_argument
    from pipeline.download.settings import DownloadSettings

    d = DownloadSettings()
    add_catalog_argument(p)
    p.add_argument("--home", help="data directory; images go under HOME/images or HOME/shards (default: beside the "
                                  "catalog)")
    p.add_argument("--static-base", help="image host for photos without url_z/url_c (default https://live.staticflickr.com)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--shorter-side", type=int, help="resize so the shorter side is N px (never upscales)")
    size.add_argument("--longest-side", type=int, help="resize so the longest side is N px (never upscales)")
    p.add_argument("--quality", type=int, help=f"JPEG quality when resizing (default {d.quality})")
    p.add_argument("--threads", type=int, help=f"concurrent downloads per process (default {d.threads})")
    p.add_argument("--processes", type=int, help="worker processes, or Prefect thread-pool workers (default: one per "
                                                 "CPU core)")
    p.add_argument("--per-host", type=int, help=f"connections per host per process at most (default {d.per_host})")
    p.add_argument("--timeout", type=float, help=f"seconds per HTTP request (default {d.timeout:g})")
    p.add_argument("--attempts", type=int, help=f"HTTP attempts per URL (default {d.attempts})")
    p.add_argument("--shard-size", type=int, help=f"photos per shard (default {d.shard_size})")
    p.add_argument("--retry-failed", action="store_true", help="try photos that failed before again")
    p.add_argument("--output-format", choices=["files", "webdataset"],
                   help="files: images/<class>/<photo id>.jpg; webdataset: one tar per shard, shards/<shard>.tar "
                        f"(default {d.output_format})")
    p.add_argument("--dask", dest="dask_address",
                   help="run shards on this Dask scheduler (via Prefect; implies --prefect)")
    add_prefect_argument(p, default=False)
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from catalog import connect
    from flows.commands.common import print_json, stage_settings
    from pipeline import download as stage

    home = args.home or str(Path(args.catalog).parent)
    settings = stage_settings(stage.DownloadSettings, args)
    if args.prefect or args.dask_address:
        from flows.download import download_flow
        from flows.engine import run_flow

        out = run_flow(download_flow, args.catalog, home, settings, args.dask_address)
    else:
        out = stage.download(connect(args.catalog), home, settings, show_progress=not args.json)
    print_json(out) if args.json else print(f"downloaded {out['downloaded']}, failed {out['failed']}")
    return 0
