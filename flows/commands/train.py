"""`flickr-mammal train`."""
from __future__ import annotations

HELP = "decentralized training (BSP, Gaia, FedAvg, DGC) from a TOML config; metrics JSONL, checkpoints, PNG curves"


def add_arguments(p) -> None:
    p.add_argument("config", help="TOML config (examples: training/configs/*.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set algorithm.iter_local=50 (repeatable)")
    p.add_argument("--out", default=None, help="run folder (default runs/<config name>)")
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming from the last checkpoint")
    p.add_argument("--json", action="store_true", help="print the final metrics row as JSON")


def run(args) -> int:
    from pathlib import Path

    from flows.commands.common import print_json
    from training.runner import load_config, plot_curves, run_training

    cfg = load_config(args.config, args.overrides)
    out = Path(args.out or Path("runs") / Path(args.config).stem)
    rows = run_training(cfg, out, resume=not args.no_resume, progress=not args.json)
    png = plot_curves(rows, out / "curves.png", f"{cfg.get('algorithm', {}).get('name', 'bsp')} · "
                                                 f"{cfg.get('model', {}).get('name', '')}")
    last = rows[-1]
    if args.json:
        print_json(last | {"curves": str(png), "metrics": str(out / "metrics.jsonl")})
    else:
        print(f"accuracy {last['acc_mean']:.2%} (per partition {', '.join(f'{a:.1%}' for a in last['acc'])}); "
              f"sent {last['bytes'] / 1e6:.1f} MB; {last['wall_s']:.1f} s")
        print(f"metrics: {out / 'metrics.jsonl'}   curves: {png}")
    return 0
