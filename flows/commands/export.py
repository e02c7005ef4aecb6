"""`flickr-mammal export`."""
from __future__ import annotations

HELP = ("export partitions (geographic, label-exclusive, skew, dirichlet, iid) and an owner-grouped test split as a "
        "manifest, with ATTRIBUTION.csv and DATASHEET.md")


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument, add_prefect_argument
    from pipeline.export.settings import LEVELS, PARTITIONERS, ExportSettings

    d = ExportSettings()
    add_catalog_argument(p)
    p.add_argument("--out", required=True, help="output folder for manifest.parquet and manifest.json")
    p.add_argument("--home", help="data home the catalog's image paths are relative to (default: beside the catalog)")
    p.add_argument("--partitioner", choices=PARTITIONERS, help=f"default {d.partitioner}")
    p.add_argument("--level", help=f"geographic level: {', '.join(LEVELS)} (default {d.level})")
    p.add_argument("--min-size", type=int, help=f"drop geographic partitions smaller than this (default {d.min_size})")
    p.add_argument("--num-partitions", type=int, help="for label-exclusive, skew, dirichlet, iid")
    p.add_argument("--skew", type=float, help="degree of skew s in [0, 1] for --partitioner skew")
    p.add_argument("--alpha", type=float, help="Dirichlet concentration for --partitioner dirichlet")
    p.add_argument("--test-fraction", type=float, help=f"default {d.test_fraction}")
    p.add_argument("--seed", type=int, help=f"default {d.seed}")
    p.add_argument("--no-require-images", dest="require_images", action="store_false",
                   help="export photos without downloaded images too (metadata-only, e.g. the imported release)")
    p.add_argument("--licenses", help="keep only these licenses: short names and/or the groups open, all, comma-"
                                      f"separated (catalog/data/licenses.csv; default {d.licenses}: those that allow "
                                      "redistribution; with arr the export has page URLs, not images)")
    p.add_argument("--private", action="store_true", default=None,
                   help="copy the images of every selected license, All Rights Reserved too, for your own use only")
    p.add_argument("--webdataset", action="store_true", default=None,
                   help="also write WebDataset shards per partition and split (webdataset/<split>/<partition>-N.tar)")
    p.add_argument("--keep-duplicates", action="store_true", default=None,
                   help="export near-duplicates too (dataset_all); each duplicate group stays in one split")
    p.add_argument("--max-per-owner", type=int, help="keep at most N photos per owner (a seeded choice; default: all)")
    add_prefect_argument(p, default=False)
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from catalog import connect
    from flows.commands.common import print_json, stage_settings
    from pipeline import export as stage

    settings = stage_settings(stage.ExportSettings, args)
    home = args.home or str(Path(args.catalog).parent)
    if args.prefect:
        from flows.engine import run_flow
        from flows.export import export_task

        out = run_flow(export_task, args.catalog, args.out, home, settings)
    else:
        out = stage.export(connect(args.catalog, read_only=True), args.out, home, settings)
    if args.json:
        print_json(out)
        return 0
    for name in out["partition_names"] + ["test"]:
        print(f"{name:<34}{sum(out['label_counts'].get(name, {}).values()):>8} rows")
    if out["dropped"]:
        print(f"dropped (under --min-size {settings.min_size} or without geography): {out['dropped']}")
    print(f"test split grouped by {out['split_grouping']}; test share per class "
          f"{min(out['test_share_by_class'].values()):.3f}-{max(out['test_share_by_class'].values()):.3f} "
          f"(target {settings.test_fraction})")
    lic = out["licenses"]
    print(f"licenses {lic['requested']}: {out['release']} release ({sum(lic['photos'].values())} photos in, "
          f"{sum(lic['left_out'].values())} left out by license)")
    print(f"wrote {Path(args.out) / 'manifest.parquet'}, README.md (Hugging Face card), metadata.json (Croissant), "
          f"ATTRIBUTION.csv, {stage.DATASHEET}")
    return 0
