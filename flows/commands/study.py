"""`flickr-mammal study`."""
from __future__ import annotations

HELP = "reproduce the paper's findings F1-F5 into docs/study/REPORT.md with PNG figures"


def add_arguments(p) -> None:
    p.add_argument("--out", default="docs/study", help="report folder (default docs/study)")
    p.add_argument("--quick", action="store_true", help="tiny runs (minutes): for tests and a first look")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--experiments", default="F1,F2,F3,F4,F5", help="comma-separated subset of F1..F5")
    p.add_argument("--mnist", metavar="DIR", help="use MNIST idx files from DIR instead of scikit-learn digits")
    p.add_argument("--f4-mnist", metavar="DIR",
                   help="also run F4 on MNIST idx files from DIR (e.g. ../shared/data/mnist)")
    p.add_argument("--manifest",
                   help="export manifest for F5 (e.g. flickr-mammal-data/demo/export/continent/manifest.parquet)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    p.add_argument("--runs", help="folder for the individual runs (default OUT/runs); reruns resume")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    import sys

    from flows.commands.common import print_json
    from training.study import run_study

    data = {"name": "mnist", "path": args.mnist, "test_fraction": 0.2} if args.mnist else None
    cmd = "flickr-mammal " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["study"] else "flickr-mammal study"
    s = run_study(args.out, quick=args.quick, seeds=args.seeds, data=data,
                  experiments=[e.strip() for e in args.experiments.split(",") if e.strip()], manifest=args.manifest,
                  jobs=args.jobs, runs_dir=args.runs, command=cmd, f4_mnist=args.f4_mnist)
    print_json(s) if args.json else print(f"wrote {args.out}/REPORT.md")
    return 0
