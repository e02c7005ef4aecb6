"""`flickr-mammal geocode`."""
from __future__ import annotations

HELP = "country / UN M49 sub-region / continent for every photo with coordinates; --audit vs the authors' labels"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument, add_prefect_argument

    add_catalog_argument(p)
    p.add_argument("--redo", action="store_true", help="geocode every photo again, not only new ones")
    p.add_argument("--audit", nargs="?", const="docs/geocode-audit.md", metavar="PATH",
                   help="write the (authors, ours) disagreements on imported release rows "
                        "(default docs/geocode-audit.md)")
    add_prefect_argument(p, default=False)
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from catalog import connect
    from flows.commands.common import print_json, stage_settings
    from pipeline import geocode as stage

    settings = stage_settings(stage.GeocodeSettings, args)
    if args.prefect:
        from flows.engine import run_flow
        from flows.geocode import geocode_task

        out = run_flow(geocode_task, args.catalog, settings)
    else:
        out = stage.geocode_catalog(connect(args.catalog), settings)
    if args.audit:
        out["audit"] = stage.audit(connect(args.catalog), args.audit)
    if args.json:
        print_json(out)
    else:
        print(f"geocoded {out['geocoded']} photos ({out['photos_per_s']}/s); flags: {out['flags']}")
        if args.audit:
            a = out["audit"]
            print(f"agreement with the authors: {a['agreement']:.2%} of {a['compared']} photos; wrote {a['path']}")
    return 0
