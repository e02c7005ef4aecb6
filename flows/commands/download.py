"""`flickr-mammal download`."""
from __future__ import annotations

HELP = "download, check and (optionally) resize the catalog's photos; rerun to resume"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--home", help="data directory; images go under HOME/images or HOME/shards (default: beside the catalog)")
    p.add_argument("--static-base", help="image host for photos without url_z/url_c (default https://live.staticflickr.com)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--shorter-side", type=int, help="resize so the shorter side is N px (never upscales)")
    size.add_argument("--longest-side", type=int, help="resize so the longest side is N px (never upscales)")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality when resizing (default 95)")
    p.add_argument("--threads", type=int, default=32, help="concurrent downloads per process (default 32)")
    p.add_argument("--processes", type=int, default=None, help="worker processes (default: one per CPU core)")
    p.add_argument("--per-host", type=int, default=16, help="connections per host per process at most (default 16)")
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--retry-failed", action="store_true", help="try photos that failed before again")
    p.add_argument("--output-format", default="files", choices=["files", "webdataset"],
                   help="files: images/<class>/<photo id>.jpg; webdataset: one tar per shard, shards/<shard>.tar "
                        "(default files)")
    p.add_argument("--dask", dest="dask_address", help="run shards on this Dask scheduler (via Prefect)")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    import os
    from pathlib import Path

    from catalog import connect
    from flows.commands.common import print_json

    home = args.home or str(Path(args.catalog).parent)
    if args.dask_address:
        from flows.download import download_flow
        out = download_flow(args.catalog, home, args.static_base, args.shorter_side, args.longest_side,
                            dask_address=args.dask_address, output_format=args.output_format)
    else:
        from pipeline.download import download
        out = download(connect(args.catalog), home, static_base=args.static_base, shorter_side=args.shorter_side,
                       longest_side=args.longest_side, quality=args.quality, threads=args.threads,
                       per_host=args.per_host, timeout=args.timeout, retry_failed=args.retry_failed,
                       processes=args.processes or os.cpu_count() or 1,
                       output_format=args.output_format, show_progress=not args.json)
    print_json(out) if args.json else print(f"downloaded {out['downloaded']}, failed {out['failed']}")
    return 0
