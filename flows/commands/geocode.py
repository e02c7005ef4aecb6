"""`flickr-mammal geocode`."""
from __future__ import annotations

HELP = "country / UN M49 sub-region / continent for every photo with coordinates; --audit vs the authors' labels"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--redo", action="store_true", help="geocode every photo again, not only new ones")
    p.add_argument("--audit", nargs="?", const="docs/geocode-audit.md", metavar="PATH",
                   help="write the (authors, ours) disagreements on imported release rows (default docs/geocode-audit.md)")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from catalog import connect
    from flows.commands.common import print_json
    from pipeline.geocode import audit, geocode_catalog

    con = connect(args.catalog)
    out = geocode_catalog(con, redo=args.redo)
    if args.audit:
        out["audit"] = audit(con, args.audit)
    if args.json:
        print_json(out)
    else:
        print(f"geocoded {out['geocoded']} photos ({out['photos_per_s']}/s); flags: {out['flags']}")
        if args.audit:
            a = out["audit"]
            print(f"agreement with the authors: {a['agreement']:.2%} of {a['compared']} photos; wrote {a['path']}")
    return 0
