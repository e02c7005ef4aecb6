"""`flickr-mammal filter`: score, decide, train, eval."""
from __future__ import annotations

HELP = "clean photos with a timm classifier: `filter score`, `filter decide` (no model), `filter train`, `filter eval`"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    sub = p.add_subparsers(dest="filter_command", required=True, metavar="{score,decide,train,eval}")
    s = sub.add_parser("score", help="run the classifier over downloaded photos; keep scores; then decide")
    s.add_argument("--model", default="pnasnet5large", help="any timm ImageNet-1k model (default pnasnet5large)")
    s.add_argument("--weights", help="local checkpoint: ImageNet weights for --model, or a `filter train` output")
    s.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--workers", type=int, default=2, help="DataLoader decoding workers")
    s.add_argument("--dask", dest="dask_address", help="score shards on this Dask scheduler (via Prefect)")
    d = sub.add_parser("decide", help="keep/drop from stored scores with a rule and threshold (never runs the model)")
    d.add_argument("--model", help="whose scores (default: the model with the most scores)")
    d.add_argument("--weights-sha256", help="which weights' scores (with --model)")
    t = sub.add_parser("train", help="train a small timm classifier on the catalogue's classes from downloaded images")
    t.add_argument("--model", default="mobilenetv3_small_050", help="timm architecture (default mobilenetv3_small_050)")
    t.add_argument("--out", help="checkpoint path (default HOME/classifier/classifier.pth)")
    t.add_argument("--img-size", type=int, default=64)
    t.add_argument("--epochs", type=int, default=6)
    e = sub.add_parser("eval", help="precision and recall of the keep decisions against the offline world's truth")
    for q in (s, d):
        q.add_argument("--rule", default="mass", help="mass | mass-or-mammal | top5 | mass-or-top5")
        q.add_argument("--threshold", type=float, default=0.2)
    for q in (s, d, t, e):
        add_catalog_argument(q)
        q.add_argument("--home", help="data home with images/ (default: beside the catalog)")
        q.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from catalog import connect, load_classes
    from flows.commands.common import print_json
    from pipeline import filter as flt

    home = args.home or str(Path(args.catalog).parent)
    con = connect(args.catalog)
    if args.filter_command == "train":
        out = flt.train_classifier(con, home, args.out or Path(home) / "classifier" / "classifier.pth",
                                   model=args.model, img_size=args.img_size, epochs=args.epochs,
                                   show_progress=not args.json)
    elif args.filter_command == "score":
        if args.dask_address:
            con.close()
            from flows.filter import filter_flow
            out = filter_flow(args.catalog, home, args.model, args.weights, args.rule, args.threshold,
                              dask_address=args.dask_address)
        else:
            clf = flt.load_classifier(args.model, args.weights)
            out = flt.score(con, clf, load_classes(), home, device=args.device, batch_size=args.batch_size,
                            workers=args.workers, show_progress=not args.json)
            out |= flt.decide(con, clf.name, clf.weights_sha256, args.rule, args.threshold)
    elif args.filter_command == "decide":
        model, sha = (args.model, args.weights_sha256) if args.model and args.weights_sha256 else flt.latest_scores(con)
        out = flt.decide(con, model, sha, args.rule, args.threshold)
    else:
        out = flt.evaluate(con)
    if args.json:
        print_json(out)
    else:
        print(", ".join(f"{k} {v}" for k, v in out.items()))
    return 0
