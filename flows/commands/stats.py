"""`flickr-mammal stats`."""
from __future__ import annotations

HELP = "label × region tables, partition sizes and skew metrics (TV, JS, missing classes); --plots for PNGs"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--level", default="continent", choices=["continent", "subregion", "country"])
    p.add_argument("--source", default="ours", choices=["ours", "authors"],
                   help="our geocodes (the dataset view) or the release authors' own labels")
    p.add_argument("--min-size", type=int, default=0, help="leave regions smaller than this out of the skew metrics")
    p.add_argument("--plots", metavar="DIR", help="write heatmap and partition-size PNGs here")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from catalog import connect
    from flows.commands.common import print_json
    from flows.text import label_table
    from pipeline.analytics import plot_heatmap, plot_partition_sizes, stats

    out = stats(connect(args.catalog, read_only=True), args.level, args.source, args.min_size)
    if args.plots:
        d = Path(args.plots)
        d.mkdir(parents=True, exist_ok=True)
        import numpy as np
        h = plot_heatmap(out["regions"], out["labels"], np.array(out["counts"]),
                         d / f"heatmap_{args.level}_{args.source}.png",
                         f"Where each class was photographed ({args.level}, {args.source} geography)")
        b = plot_partition_sizes(out["partitions"], d / f"partitions_{args.level}_{args.source}.png",
                                 f"Photos per {args.level} and label skew (TV distance to global)")
        out["plots"] = [str(h), str(b)]
    if args.json:
        print_json(out)
        return 0
    print(label_table(out))
    print(f"\n{'partition':<34}{'photos':>9}{'TV':>8}{'JS':>8}{'missing':>9}")
    for p in out["partitions"]:
        print(f"{p['region']:<34}{p['photos']:>9}{p['tv']:>8.3f}{p['js']:>8.3f}{p['missing_classes']:>9.1%}")
    for path in out.get("plots", []):
        print(f"plot: {path}")
    return 0

