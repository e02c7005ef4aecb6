"""`flickr-mammal crawl`."""
from __future__ import annotations

HELP = "crawl Flickr (or the offline service) for geotagged photos of each class into the catalog"
CREATES_CATALOG = True       # starts a catalog when --catalog does not exist yet (flows/cli.py)
DESCRIPTION = (HELP + ". The API key and secret come from FLICKR_API_KEY / FLICKR_API_SECRET or --key-file, "
               "never from the command line. Rerunning resumes an interrupted crawl; a later run fetches only "
               "photos uploaded after each class's watermark.")


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument, add_prefect_argument, comma_list
    from pipeline.crawl.settings import CrawlSettings

    d = CrawlSettings()
    add_catalog_argument(p)
    p.add_argument("--api-url", help="REST endpoint (default: https://api.flickr.com/services/rest/); "
                                     "the offline service prints its own")
    p.add_argument("--classes", type=comma_list, help="comma-separated class names or label ids (default: all)")
    p.add_argument("--classes-file", metavar="FILE", help="your own class catalogue CSV")
    p.add_argument("--min-upload-date", help="ISO date; default 2004-01-01 or the class's watermark")
    p.add_argument("--max-upload-date", help="ISO date; default now")
    p.add_argument("--rate", type=float, help=f"API calls per hour for this key (default {d.rate:g})")
    p.add_argument("--timeout", type=float, help=f"seconds per API call before a retry (default {d.timeout:g})")
    p.add_argument("--key-file", help="file with the API key on line 1 and the secret on line 2")
    p.add_argument("--workers", type=int,
                   help=f"classes crawled at once (they share the rate limit; default {d.workers})")
    add_prefect_argument(p, default=True)
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")


def run(args) -> int:
    from catalog import connect
    from flows.commands.common import print_json, stage_settings
    from pipeline import crawl as stage

    settings = stage_settings(stage.CrawlSettings, args)
    stage.prepare(settings)[-1].check_key()      # bad input or key: one line, before the catalog or a flow run
    if args.prefect:
        from flows.crawl import crawl_flow
        from flows.engine import run_flow

        out = run_flow(crawl_flow, args.catalog, settings)
    else:
        out = stage.crawl(connect(args.catalog), settings, show_progress=not args.json)
    if args.json:
        print_json(out)
    else:
        print(f"crawl run {out['run_id']}: {out['new_photos']} new photos, {out['api_calls']} API calls, "
              f"{len(out['classes'])} classes")
    return 0
