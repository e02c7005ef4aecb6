"""`flickr-mammal sweep`."""
from __future__ import annotations

from training import registered

HELP = "run a static grid of an algorithm's knob (resumable) and report the Oracle: least bytes to the target accuracy"


def add_arguments(p) -> None:
    p.add_argument("config", help=f"TOML config whose [algorithm] has a knob to grid: "
                                  f"{', '.join(registered.SWEEPABLE)}")
    p.add_argument("--grid", help="comma-separated knob values (default: the paper's grid)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--out", default=None, help="sweep folder (default runs/sweep-<config name>)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    t = p.add_mutually_exclusive_group()
    t.add_argument("--target", type=float, help="target accuracy (0-1)")
    t.add_argument("--target-rel", type=float, default=0.95,
                   help="target as a fraction of BSP's accuracy (default 0.95)")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    import sys
    from pathlib import Path

    from flows.commands.common import print_json
    from training.config import load_config
    from training.sweep import sweep

    cfg = load_config(args.config, args.overrides)
    grid = [float(v) if "." in v else int(v) for v in args.grid.split(",")] if args.grid else None
    out = Path(args.out or Path("runs") / f"sweep-{Path(args.config).stem}")
    echo = (lambda s: print(s, file=sys.stderr)) if args.json else print
    res = sweep(cfg, out, grid, jobs=args.jobs, target=args.target,
                target_rel=None if args.target is not None else args.target_rel, echo=echo)
    if args.json:
        print_json(res)
    elif res["oracle"]:
        o = res["oracle"]
        print(f"Oracle at target {res['target']:.3f}: {o['label']} with {o['bytes_to_target'] / 1e6:.1f} MB "
              f"(BSP: {((res['bsp'] or {}).get('bytes_to_target') or float('nan')) / 1e6:.1f} MB)")
        if res["oracle_whole_run"]:
            w = res["oracle_whole_run"]
            print(f"Oracle over whole runs (final accuracy >= target): {w['label']} with {w['bytes'] / 1e6:.1f} MB")
    else:
        print(f"no run of the grid reaches the target {res['target']:.3f}")
    return 0
