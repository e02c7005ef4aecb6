"""`flickr-mammal study`: the paper's findings F1-F5 (training/study/report.py) and the ones beyond it, F6-F8
(training/study/beyond.py), into one REPORT.md."""
from __future__ import annotations

HELP = ("reproduce the paper's findings F1-F5 and, with --experiments F6,F7,F8, gossip/QGM, staleness and the "
        "remedies side by side, into docs/study/REPORT.md with PNG figures")

PAPER = ("F1", "F2", "F3", "F4", "F5")
BEYOND = ("F6", "F7", "F8")


def add_arguments(p) -> None:
    p.add_argument("--out", default="docs/study", help="report folder (default docs/study)")
    p.add_argument("--quick", action="store_true", help="tiny runs (minutes) of F1-F5: for tests and a first look")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--experiments", default="F1,F2,F3,F4,F5",
                   help="comma-separated subset of F1..F8, or 'all' (F6-F8: training/study/beyond.py; default F1-F5)")
    p.add_argument("--mnist", metavar="DIR", help="use MNIST idx files from DIR instead of scikit-learn digits")
    p.add_argument("--f4-mnist", metavar="DIR",
                   help="F4: MNIST idx files for the protocol's MNIST-10k settings (e.g. ../shared/data/mnist)")
    p.add_argument("--manifest",
                   help="export manifest for F5 and F8's geographic column "
                        "(e.g. flickr-mammal-data/demo/export/continent/manifest.parquet)")
    p.add_argument("--tuning-seeds", type=int,
                   help="F4: seeds for the tuning settings (default --seeds; the evaluation settings run --seeds)")
    p.add_argument("--f4-settings", help="F4: comma-separated setting ids to run (e.g. E5,E6,E7,E8,T1; default all "
                                         "of training/study/protocol.py)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    p.add_argument("--runs", help="folder for the individual runs (default OUT/runs, F6-F8: OUT/runs/beyond); "
                                  "reruns resume")
    p.add_argument("--render-only", action="store_true",
                   help="F6-F8: summarise the runs that finished under --runs, train nothing")
    p.add_argument("--json", action="store_true")


def split_experiments(text: str) -> tuple[list[str], list[str]]:
    """``--experiments`` as (F1-F5 names, F6-F8 names), each in order; an unknown name is one UserError line."""
    from catalog.errors import UserError

    names = [e.strip().upper() for e in text.split(",") if e.strip()]
    if names == ["ALL"]:
        names = [*PAPER, *BEYOND]
    unknown = [n for n in names if n not in PAPER + BEYOND]
    if unknown or not names:
        raise UserError(f"--experiments: unknown {', '.join(unknown) or 'empty list'}; choose from "
                        f"{', '.join(PAPER + BEYOND)} or all")
    return [n for n in PAPER if n in names], [n for n in BEYOND if n in names]


def check(args, paper: list[str], beyond: list[str]) -> None:
    """Options that only one half understands are refused for the other instead of silently ignored."""
    from catalog.errors import UserError

    if beyond and args.quick:
        raise UserError("--quick runs F1-F5 only; F6-F8 have no quick mode (training/study/beyond.py: 150 "
                        "iterations per run, about a minute each on one thread)")
    if args.render_only and paper:
        raise UserError("--render-only is for F6-F8 (F1-F5 always reuse their cached runs under --runs)")


def run(args) -> int:
    import sys

    from flows.commands.common import print_json

    paper, beyond = split_experiments(args.experiments)
    check(args, paper, beyond)
    data = {"name": "mnist", "path": args.mnist, "test_fraction": 0.2} if args.mnist else None
    cmd = "flickr-mammal " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["study"] else "flickr-mammal study"
    summary = {}
    if paper:
        from training.study import run_study

        summary = run_study(args.out, quick=args.quick, seeds=args.seeds, data=data, experiments=paper,
                            manifest=args.manifest, jobs=args.jobs, runs_dir=args.runs, command=cmd,
                            f4_mnist=args.f4_mnist, tuning_seeds=args.tuning_seeds,
                            f4_only=[x.strip().upper() for x in args.f4_settings.split(",")] if args.f4_settings
                            else None)
    if beyond:
        from training.study.beyond import run_beyond

        summary |= run_beyond(args.out, data=data, seeds=args.seeds, jobs=args.jobs, manifest=args.manifest,
                              runs_dir=args.runs, names=tuple(beyond), render_only=args.render_only,
                              command=cmd.replace(" --render-only", ""))
    print_json(summary) if args.json else print(f"wrote {args.out}/REPORT.md ({', '.join(paper + beyond)})")
    return 0
