"""`flickr-mammal deploy`."""
from __future__ import annotations

HELP = "register the build flow as a scheduled deployment (--cron or --interval) and serve it on a Prefect server"
DESCRIPTION = (HELP + ". Needs PREFECT_API_URL pointing at a running `prefect server start`. The API key is read "
               "by each run from FLICKR_API_KEY/FLICKR_API_SECRET or --key-file; it is never a parameter.")


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument, comma_list

    add_catalog_argument(p)
    p.add_argument("--name", default="flickr-mammal-build", help="deployment name")
    p.add_argument("--cron", help='cron schedule, e.g. "0 3 * * *"')
    p.add_argument("--interval", type=float, help="seconds between runs")
    p.add_argument("--home", help="data home (default: beside the catalog)")
    p.add_argument("--api-url", help="Flickr REST endpoint (default: real Flickr)")
    p.add_argument("--static-base", help="image host for photos without url_z/url_c")
    p.add_argument("--classes", type=comma_list, help="comma-separated class names (default: all)")
    p.add_argument("--key-file", help="file with the API key (line 1) and secret (line 2)")
    p.add_argument("--rate", type=float, help="API calls per hour (default 3600)")
    p.add_argument("--stages", type=comma_list, default=["crawl", "download", "geocode"],
                   help="stages each scheduled run executes (default crawl,download,geocode)")
    p.add_argument("--limit", type=int, help="at most this many concurrent runs")


def run(args) -> int:
    from pathlib import Path

    from flows.commands.build import build_config
    from flows.deploy import serve_build

    args.catalog = str(Path(args.catalog).resolve())
    args.home = str(Path(args.home or Path(args.catalog).parent).resolve())
    serve_build(build_config(args), args.name, args.cron, args.interval, args.limit)
    return 0
