"""`flickr-mammal build`."""
from __future__ import annotations

HELP = "run the pipeline stages as one Prefect flow (crawl, download, filter, geocode, export, train)"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--home", default=None, help="data directory for images, exports and runs (default: beside the catalog)")
    p.add_argument("--api-url", help="Flickr REST endpoint (default: real Flickr)")
    p.add_argument("--static-base", help="image host for photos without url_z/url_c (default: live.staticflickr.com)")
    p.add_argument("--classes", help="comma-separated class names or label ids (default: all)")
    p.add_argument("--classes-file", metavar="FILE")
    p.add_argument("--key-file", help="file with the API key (line 1) and secret (line 2)")
    p.add_argument("--rate", type=float, default=3600.0, help="API calls per hour")
    p.add_argument("--stages", default="crawl,download,filter,geocode,export,train")
    p.add_argument("--dask", dest="dask_address", help="Dask scheduler address for download/filter shards")
    p.add_argument("--output-format", default="files", choices=["files", "webdataset"],
                   help="download layout: files by class, or one WebDataset tar per shard (filter reads both; "
                        "export/train need files)")
    p.add_argument("--filter-model", default="pnasnet5large")
    p.add_argument("--filter-weights")
    p.add_argument("--export-level", default="continent", choices=["continent", "subregion", "country"])
    p.add_argument("--train-config", help="TOML config for the train stage")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from flows.build import build_flow
    from flows.commands.common import print_json
    from flows.config import BuildConfig

    cfg = BuildConfig(catalog=args.catalog, home=args.home or str(Path(args.catalog).parent), api_url=args.api_url,
                      static_base=args.static_base, classes=[c for c in (args.classes or "").split(",") if c],
                      classes_file=args.classes_file, key_file=args.key_file, rate=args.rate,
                      stages=[s.strip() for s in args.stages.split(",") if s.strip()], dask_address=args.dask_address,
                      output_format=args.output_format,
                      filter_model=args.filter_model, filter_weights=args.filter_weights,
                      export_level=args.export_level, train_config=args.train_config)
    out = build_flow(cfg)
    if args.json:
        print_json(out)
    else:
        for stage, s in out.items():
            print(f"{stage}: {s}")
    return 0
