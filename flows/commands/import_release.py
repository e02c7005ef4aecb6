"""`flickr-mammal import-release`."""
from __future__ import annotations

HELP = "load the published release (its folder layout, or the single CSV form) into the catalog"
CREATES_CATALOG = True       # starts a catalog when --catalog does not exist yet (flows/cli.py)


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("source", help="release folder (mammal.csv, metadata/<class>.csv) or a single CSV file")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from catalog import connect
    from flows.commands.common import print_json
    from pipeline.release import import_release

    out = import_release(connect(args.catalog), args.source)
    print_json(out) if args.json else print(f"imported {out['rows']} rows: {out['photos']} photos "
                                            f"({out['new_photos']} new)")
    return 0
