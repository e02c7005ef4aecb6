"""`flickr-mammal filter`: score, decide, train, eval."""
from __future__ import annotations

HELP = "clean photos with a timm classifier: `filter score`, `filter decide` (no model), `filter train`, `filter eval`"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument, add_prefect_argument
    from pipeline.filter.settings import FilterSettings

    d = FilterSettings()
    sub = p.add_subparsers(dest="filter_command", required=True, metavar="{score,decide,train,eval}")
    s = sub.add_parser("score", help="run the classifier over downloaded photos; keep scores; then decide")
    s.add_argument("--model", help=f"any timm ImageNet-1k model (default {d.model})")
    s.add_argument("--weights", help="local checkpoint: ImageNet weights for --model, or a `filter train` output")
    s.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    s.add_argument("--batch-size", type=int, help=f"default {d.batch_size}")
    s.add_argument("--workers", type=int, help=f"DataLoader decoding workers (default {d.workers})")
    s.add_argument("--shard-size", type=int, help=f"photos per scoring shard (default {d.shard_size})")
    s.add_argument("--classes-file", metavar="FILE", help="your own class catalogue CSV")
    s.add_argument("--dask", dest="dask_address", help="score shards on this Dask scheduler (via Prefect; implies "
                                                       "--prefect)")
    add_prefect_argument(s, default=False)
    d_ = sub.add_parser("decide", help="keep/drop from stored scores with a rule and threshold (never runs the model)")
    d_.add_argument("--model", help="whose scores (default: the model with the most scores)")
    d_.add_argument("--weights-sha256", help="which weights' scores (with --model)")
    t = sub.add_parser("train", help="train a small timm classifier on the catalogue's classes from downloaded images")
    t.add_argument("--model", help="timm architecture (default test_resnet)")
    t.add_argument("--out", help="checkpoint path (default HOME/classifier/classifier.pth)")
    t.add_argument("--img-size", type=int, help="default 32")
    t.add_argument("--epochs", type=int, help="default 20")
    t.add_argument("--folds", type=int, help="confident learning's cross-validation folds; 0 trains on every "
                                             "label as it is (default 2)")
    t.add_argument("--holdout", type=float, help=f"share of owners held out of training, seeded (default {d.holdout})")
    t.add_argument("--seed", type=int, help="default 0")
    e = sub.add_parser("eval", help="precision and recall of the keep decisions against the offline world's truth")
    for q in (s, d_):
        q.add_argument("--rule", help=f"mass | mass-or-mammal | top5 | mass-or-top5 (default {d.rule})")
        q.add_argument("--threshold", type=float, help=f"default {d.threshold}")
    for q in (s, d_, t, e):
        add_catalog_argument(q)
        q.add_argument("--home", help="data home with images/ (default: beside the catalog)")
        q.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from catalog import connect
    from flows.commands.common import print_json, stage_settings
    from pipeline import filter as flt

    home = args.home or str(Path(args.catalog).parent)
    if args.filter_command == "score":
        settings = stage_settings(flt.FilterSettings, args)
        if args.prefect or args.dask_address:
            from flows.engine import run_flow
            from flows.filter import filter_flow

            out = run_flow(filter_flow, args.catalog, home, settings, args.dask_address)
        else:
            out = flt.filter_photos(connect(args.catalog), home, settings, show_progress=not args.json)
    elif args.filter_command == "train":
        kw = {k: v for k, v in (("model", args.model), ("img_size", args.img_size), ("epochs", args.epochs),
                                                   ("holdout", args.holdout), ("seed", args.seed),
                                                   ("folds", args.folds))
              if v is not None}
        out = flt.train_classifier(connect(args.catalog), home,
                                   args.out or Path(home) / "classifier" / "classifier.pth",
                                   show_progress=not args.json, **kw)
    elif args.filter_command == "decide":
        con = connect(args.catalog)
        d = flt.FilterSettings()
        model, sha = (args.model, args.weights_sha256) if args.model and args.weights_sha256 else flt.latest_scores(con)
        out = flt.decide(con, model, sha, args.rule or d.rule,
                         d.threshold if args.threshold is None else args.threshold)
    else:
        out = flt.evaluate(connect(args.catalog))
    if args.json:
        print_json(out)
    else:
        print(", ".join(f"{k} {v}" for k, v in out.items()))
    return 0
