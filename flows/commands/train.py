"""`flickr-mammal train`."""
from __future__ import annotations

from training import registered

HELP = (f"decentralized training ({', '.join(registered.ALGORITHMS)}) from a TOML config; metrics JSONL, "
        f"checkpoints, PNG curves")
DESCRIPTION = ("decentralized training from a TOML config; metrics JSONL, checkpoints, PNG curves. "
               f"Registered: algorithms {', '.join(registered.ALGORITHMS)}; partitioners "
               f"{', '.join(registered.PARTITIONERS)}; topologies (gossip algorithms) "
               f"{', '.join(registered.TOPOLOGIES)}; datasets {', '.join(registered.DATASETS)}; models "
               f"{', '.join(registered.MODELS)} (or timm:<name>, timm-gn:<name>). A section left out takes its "
               f"defaults.")


def add_arguments(p) -> None:
    p.add_argument("config", help="TOML config (examples: training/configs/*.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set algorithm.iter_local=50 (repeatable)")
    p.add_argument("--out", default=None, help="run folder (default runs/<config name>)")
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming from the last checkpoint")
    p.add_argument("--json", action="store_true", help="print the run's record (its final metrics row) as JSON")


def run(args) -> int:
    from pathlib import Path

    from flows.commands.common import print_json
    from training.config import read_config
    from training.runner import train

    cfg = read_config(args.config, args.overrides)
    out = Path(args.out or Path("runs") / Path(args.config).stem)
    rec = train(cfg, out, resume=not args.no_resume, progress=not args.json)
    if args.json:
        print_json(rec.as_dict())
    else:
        print(f"accuracy {rec.accuracy:.2%} (per partition "
              f"{', '.join(f'{k} {a:.1%}' for k, a in rec.per_partition.items())}); sent {rec.bytes / 1e6:.1f} MB; "
              f"{rec.final['wall_s']:.1f} s")
        print(f"metrics: {rec.metrics}   curves: {rec.curves}")
    return 0
