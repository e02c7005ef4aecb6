"""`flickr-mammal deploy`."""
from __future__ import annotations

HELP = "register the build flow as a scheduled deployment (--cron or --interval) and serve it on a Prefect server"
DESCRIPTION = (HELP + ". Needs PREFECT_API_URL pointing at a running `prefect server start`. The API key is read "
               "by each run from FLICKR_API_KEY/FLICKR_API_SECRET or --key-file; it is never a parameter.")


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--name", default="flickr-mammal-build", help="deployment name")
    p.add_argument("--cron", help='cron schedule, e.g. "0 3 * * *"')
    p.add_argument("--interval", type=float, help="seconds between runs")
    p.add_argument("--home", help="data home (default: beside the catalog)")
    p.add_argument("--api-url", help="Flickr REST endpoint (default: real Flickr)")
    p.add_argument("--static-base", help="image host for photos without url_z/url_c")
    p.add_argument("--classes", help="comma-separated class names (default: all)")
    p.add_argument("--key-file", help="file with the API key (line 1) and secret (line 2)")
    p.add_argument("--rate", type=float, default=3600.0)
    p.add_argument("--stages", default="crawl,download,geocode", help="stages each scheduled run executes")
    p.add_argument("--limit", type=int, help="at most this many concurrent runs")


def run(args) -> int:
    from pathlib import Path

    from flows.config import BuildConfig
    from flows.deploy import serve_build

    cfg = BuildConfig(catalog=str(Path(args.catalog).resolve()),
                      home=str(Path(args.home or Path(args.catalog).parent).resolve()), api_url=args.api_url,
                      static_base=args.static_base, classes=[c for c in (args.classes or "").split(",") if c],
                      key_file=args.key_file, rate=args.rate,
                      stages=[s.strip() for s in args.stages.split(",") if s.strip()])
    serve_build(cfg, args.name, args.cron, args.interval, args.limit)
    return 0
