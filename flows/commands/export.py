"""`flickr-mammal export`."""
from __future__ import annotations

HELP = "export partitions (geographic, label-exclusive, skew, dirichlet, iid) and a test split as a manifest"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--out", required=True, help="output folder for manifest.parquet and manifest.json")
    p.add_argument("--home", help="data home the catalog's image paths are relative to (default: beside the catalog)")
    p.add_argument("--partitioner", default="geographic", choices=["geographic", "label-exclusive", "skew", "dirichlet", "iid"])
    p.add_argument("--level", default="continent", help="geographic level: continent, subregion or country")
    p.add_argument("--min-size", type=int, default=50, help="drop geographic partitions smaller than this")
    p.add_argument("--num-partitions", type=int, help="for label-exclusive, skew, dirichlet, iid")
    p.add_argument("--skew", type=float, help="degree of skew s in [0, 1] for --partitioner skew")
    p.add_argument("--alpha", type=float, help="Dirichlet concentration for --partitioner dirichlet")
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-require-images", dest="require_images", action="store_false",
                   help="export photos without downloaded images too (metadata-only, e.g. the imported release)")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from catalog import connect
    from catalog.errors import UserError
    from flows.commands.common import print_json
    from pipeline.export import export

    if args.partitioner == "geographic" and args.level not in ("continent", "subregion", "country"):
        raise UserError(f"unknown level {args.level!r}; levels are continent, subregion, country")
    out = export(connect(args.catalog, read_only=True), args.out, args.home or Path(args.catalog).parent,
                 partitioner=args.partitioner, level=args.level, min_size=args.min_size,
                 num_partitions=args.num_partitions, skew=args.skew, alpha=args.alpha,
                 test_fraction=args.test_fraction, seed=args.seed, require_images=args.require_images)
    if args.json:
        print_json(out)
        return 0
    for name in out["partition_names"] + ["test"]:
        print(f"{name:<34}{sum(out['label_counts'].get(name, {}).values()):>8} rows")
    if out["dropped"]:
        print(f"dropped (under --min-size {args.min_size} or without geography): {out['dropped']}")
    print(f"wrote {Path(args.out) / 'manifest.parquet'}")
    return 0
