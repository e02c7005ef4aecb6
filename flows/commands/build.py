"""`flickr-mammal build`."""
from __future__ import annotations

HELP = "run the pipeline stages as one Prefect flow (crawl, download, dedup, filter, geocode, export, train)"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument, comma_list

    add_catalog_argument(p)
    p.add_argument("--home", help="data directory for images, exports and runs (default: beside the catalog)")
    p.add_argument("--api-url", help="Flickr REST endpoint (default: real Flickr)")
    p.add_argument("--static-base", help="image host for photos without url_z/url_c (default: live.staticflickr.com)")
    p.add_argument("--classes", type=comma_list, help="comma-separated class names or label ids (default: all)")
    p.add_argument("--classes-file", metavar="FILE")
    p.add_argument("--key-file", help="file with the API key (line 1) and secret (line 2)")
    p.add_argument("--rate", type=float, help="API calls per hour (default 3600)")
    p.add_argument("--stages", type=comma_list, help="comma-separated subset of crawl,download,dedup,filter,geocode,"
                                                     "export,train (default: all)")
    p.add_argument("--dask", dest="dask_address", help="Dask scheduler address for download/filter shards")
    p.add_argument("--output-format", choices=["files", "webdataset"],
                   help="download layout: files by class, or one WebDataset tar per shard (filter reads both; "
                        "export/train need files)")
    p.add_argument("--filter-model", help="timm model of the filter stage (default pnasnet5large)")
    p.add_argument("--filter-weights")
    p.add_argument("--export-level", choices=["continent", "subregion", "country"])
    p.add_argument("--train-config", help="TOML config for the train stage")
    p.add_argument("--json", action="store_true")


def build_config(args):
    """BuildConfig from the flags `build` and `deploy` share: each stage's settings built like its own verb's."""
    from argparse import Namespace
    from pathlib import Path

    from flows.commands.common import stage_settings
    from flows.config import BuildConfig
    from pipeline.crawl.settings import CrawlSettings
    from pipeline.download.settings import DownloadSettings
    from pipeline.export.settings import ExportSettings
    from pipeline.filter.settings import FilterSettings

    a = vars(args)
    renamed = Namespace(**a, model=a.get("filter_model"), weights=a.get("filter_weights"), level=a.get("export_level"))
    return BuildConfig(**{k: v for k, v in dict(
        catalog=args.catalog, home=args.home or str(Path(args.catalog).parent), stages=a.get("stages"),
        dask_address=a.get("dask_address"), train_config=a.get("train_config"),
        crawl=stage_settings(CrawlSettings, renamed), download=stage_settings(DownloadSettings, renamed),
        filter=stage_settings(FilterSettings, renamed), export=stage_settings(ExportSettings, renamed)).items()
        if v is not None})


def run(args) -> int:
    from flows.build import build_flow
    from flows.commands.common import print_json
    from flows.engine import run_flow

    out = run_flow(build_flow, build_config(args))
    if args.json:
        print_json(out)
    else:
        for stage, s in out.items():
            print(f"{stage}: {s}")
    return 0
