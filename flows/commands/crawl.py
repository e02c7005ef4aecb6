"""`flickr-mammal crawl`."""
from __future__ import annotations

HELP = "crawl Flickr (or the offline service) for geotagged photos of each class into the catalog"
DESCRIPTION = (HELP + ". The API key and secret come from FLICKR_API_KEY / FLICKR_API_SECRET or --key-file, "
               "never from the command line. Rerunning resumes an interrupted crawl; a later run fetches only "
               "photos uploaded after each class's watermark.")


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--api-url", help="REST endpoint (default: https://api.flickr.com/services/rest/); "
                                     "the offline service prints its own")
    p.add_argument("--classes", help="comma-separated class names or label ids (default: all)")
    p.add_argument("--classes-file", metavar="FILE", help="your own class catalogue CSV")
    p.add_argument("--min-upload-date", help="ISO date; default 2004-01-01 or the class's watermark")
    p.add_argument("--max-upload-date", help="ISO date; default now")
    p.add_argument("--rate", type=float, default=3600.0, help="API calls per hour for this key (default 3600)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per API call before a retry")
    p.add_argument("--key-file", help="file with the API key on line 1 and the secret on line 2")
    p.add_argument("--workers", type=int, default=4, help="classes crawled at once (they share the rate limit)")
    p.add_argument("--no-prefect", action="store_true", help="run the same crawl without Prefect")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")


def run(args) -> int:
    from catalog import connect, load_classes, select_classes
    from flows.commands.common import print_json
    from pipeline.crawl import FlickrClient, crawl, load_credentials, upload_range

    wanted = [c for c in (args.classes or "").split(",") if c.strip()]
    chosen = select_classes(load_classes(args.classes_file), wanted)     # bad names fail before any write
    lo, hi = upload_range(args.min_upload_date, args.max_upload_date)
    creds = load_credentials(args.key_file)
    if args.no_prefect:
        client = FlickrClient(creds, args.api_url, calls_per_hour=args.rate, timeout=args.timeout)
        client.check_key()
        out = crawl(connect(args.catalog), client, chosen, lo, hi, workers=args.workers, show_progress=not args.json)
    else:
        from flows.crawl import crawl_flow

        FlickrClient(creds, args.api_url, calls_per_hour=args.rate, timeout=args.timeout).check_key()
        out = crawl_flow(args.catalog, args.api_url, wanted or None, args.classes_file, args.min_upload_date,
                         args.max_upload_date, args.rate, args.timeout, args.key_file)
    if args.json:
        print_json(out)
    else:
        print(f"crawl run {out['run_id']}: {out['new_photos']} new photos, {out['api_calls']} API calls, "
              f"{len(out['classes'])} classes")
    return 0
