"""`flickr-mammal demo`."""
from __future__ import annotations

HELP = "run the whole pipeline and a short training run on the embedded offline Flickr service (no key needed)"
CREATES_CATALOG = True       # a fresh catalog under --home


def add_arguments(p) -> None:
    from flows.commands.common import comma_list
    from flows.stages import stage_names

    p.add_argument("--home", default="flickr-mammal-data/demo", help="where the demo's catalog, images and runs go")
    p.add_argument("--scale", type=float, default=None, help="offline world size (default 0.002: ~3,300 photos)")
    p.add_argument("--seed", type=int, default=0, help="offline world seed")
    p.add_argument("--faults", default="", help='inject faults into the offline service, e.g. "5xx=0.1,429=0.05"')
    p.add_argument("--stages", type=comma_list,
                   help=f"comma-separated subset of {','.join(stage_names())} (default: all)")
    p.add_argument("--keep", action="store_true", help="keep an earlier demo's catalog and resume it")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from flows.commands.common import print_json
    from flows.demo import DEMO_SCALE, print_summary, run_demo

    summary = run_demo(args.home, args.scale or DEMO_SCALE, args.seed, args.faults, args.stages, fresh=not args.keep)
    if args.json:
        print_json(summary)
    else:
        print_summary(summary)
    return 0
