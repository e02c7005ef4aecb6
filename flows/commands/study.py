"""`flickr-mammal study`: the paper's findings F1-F5 and three beyond it (F6 QGM on gossip topologies, F7 bounded
staleness, F8 the remedies side by side), each checked against its precondition, into one REPORT.md
(training/study/report.py)."""
from __future__ import annotations

HELP = ("reproduce the paper's findings F1-F5 and F6-F8 beyond it, each against its precondition, into "
        "docs/study/REPORT.md with PNG figures")

ALL = ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8")
FIXED_LENGTH = ("F1", "F6", "F7", "F8")      # their run length is part of the finding's setting: no quick mode


def add_arguments(p) -> None:
    p.add_argument("--out", default="docs/study", help="report folder (default docs/study)")
    p.add_argument("--quick", action="store_true", help="tiny runs (minutes) of F2-F5: for tests and a first look")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--experiments", default="all", help="comma-separated subset of F1..F8, or 'all' (default)")
    p.add_argument("--mnist", metavar="DIR",
                   help="MNIST-10k idx files (t10k-*): F1's data and F4's MNIST settings (e.g. ../shared/data/mnist)")
    p.add_argument("--f4-mnist", metavar="DIR", help="F4 only: MNIST idx files for its MNIST-10k settings")
    p.add_argument("--data-mnist", action="store_true", help="F2 and F3 on --mnist instead of scikit-learn digits")
    p.add_argument("--manifest", help="export manifest for F5 and F8's geographic column "
                                      "(e.g. HOME_DIR/export/continent/manifest.parquet)")
    p.add_argument("--manifest-how", default="", help="the command that built --manifest (printed under F5 and F8)")
    p.add_argument("--tuning-seeds", type=int,
                   help="F4: seeds for the tuning settings (default --seeds; the evaluation settings run --seeds)")
    p.add_argument("--f4-settings", help="F4: comma-separated setting ids to run (e.g. E9,T1; default all of "
                                         "training/study/protocol.py)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    p.add_argument("--runs", help="folder for the individual runs (default OUT/runs); reruns reuse them")
    p.add_argument("--stop-after", type=float, metavar="MINUTES",
                   help="start no new stage of runs after this long; the report shows what finished")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite REPORT.md and the figures from OUT/summary.json alone, train nothing")
    p.add_argument("--json", action="store_true")


def split_experiments(text: str) -> list[str]:
    """``--experiments`` as names in F1..F8 order; an unknown name is one UserError line."""
    from catalog.errors import UserError

    names = [e.strip().upper() for e in text.split(",") if e.strip()]
    if names == ["ALL"]:
        names = list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown or not names:
        raise UserError(f"--experiments: unknown {', '.join(unknown) or 'empty list'}; choose from "
                        f"{', '.join(ALL)} or all")
    return [n for n in ALL if n in names]


def check(args, names: list[str]) -> None:
    """Options a finding cannot honour are refused instead of silently ignored."""
    from catalog.errors import UserError

    fixed = [n for n in names if n in FIXED_LENGTH]
    if args.quick and fixed:
        raise UserError(f"--quick: {', '.join(fixed)} have no quick mode (their run length is part of the "
                        f"finding's setting); pass --experiments with F2-F5 only")
    if args.data_mnist and not args.mnist:
        raise UserError("--data-mnist: needs --mnist DIR (MNIST's t10k idx files)")


SESSION_FLAGS = ("--stop-after", "--manifest-how")    # say how this session ran, not what the report shows


def reproduce_argv(argv: list[str]) -> list[str]:
    """The arguments a reader reruns: without the session-only flags (and their values) and --json."""
    out, skip = [], False
    for x in argv:
        if skip:
            skip = False
        elif x in SESSION_FLAGS:
            skip = True
        elif x != "--json" and not x.startswith(tuple(f + "=" for f in SESSION_FLAGS)):
            out.append(x)
    return out


def run(args) -> int:
    import shlex
    import sys

    from flows.commands.common import print_json

    names = split_experiments(args.experiments)
    if args.render_only:
        from training.study.report import render_only

        summary = render_only(args.out)
    else:
        check(args, names)
        from training.study.report import run_study

        data = {"name": "mnist", "path": args.mnist, "test_fraction": 0.2} if args.data_mnist else None
        argv = sys.argv[1:] if sys.argv[1:2] == ["study"] else ["study"]
        cmd = "flickr-mammal " + shlex.join(reproduce_argv(argv))
        summary = run_study(args.out, quick=args.quick, seeds=args.seeds, data=data, experiments=names,
                            manifest=args.manifest, jobs=args.jobs, runs_dir=args.runs, command=cmd,
                            mnist=args.mnist, f4_mnist=args.f4_mnist, tuning_seeds=args.tuning_seeds,
                            f4_only=[x.strip().upper() for x in args.f4_settings.split(",")] if args.f4_settings
                            else None, manifest_how=args.manifest_how,
                            stop_after=None if args.stop_after is None else 60 * args.stop_after)
    print_json(summary) if args.json else print(f"wrote {args.out}/REPORT.md ({', '.join(names)})")
    return 0
