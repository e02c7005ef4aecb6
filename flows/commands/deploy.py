"""`flickr-mammal deploy`."""
from __future__ import annotations

HELP = "register the build flow as a scheduled deployment (--cron or --interval) and serve it on a Prefect server"
DESCRIPTION = (HELP + ". Needs PREFECT_API_URL pointing at a running `prefect server start`. The API key is read "
               "by each run from FLICKR_API_KEY/FLICKR_API_SECRET or --key-file; it is never a parameter. Stage "
               "settings as for `build`.")


def add_arguments(p) -> None:
    from flows.commands.build import add_stage_arguments
    from flows.stages import STAGES

    add_stage_arguments(p, default_stages=[n for n, s in STAGES.items() if s.scheduled])
    p.add_argument("--name", default="flickr-mammal-build", help="deployment name")
    p.add_argument("--cron", help='cron schedule, e.g. "0 3 * * *"')
    p.add_argument("--interval", type=float, help="seconds between runs")
    p.add_argument("--limit", type=int, help="at most this many concurrent runs")


def creates_catalog(args) -> bool:
    from flows.commands.build import creates_catalog

    return creates_catalog(args)


def run(args) -> int:
    from pathlib import Path

    from flows.commands.build import build_config
    from flows.deploy import serve_build

    args.catalog = str(Path(args.catalog).resolve())
    args.home = str(Path(args.home or Path(args.catalog).parent).resolve())
    serve_build(build_config(args), args.name, args.cron, args.interval, args.limit)
    return 0
