"""`flickr-mammal sim`: the offline Flickr service."""
from __future__ import annotations

HELP = "the offline Flickr service: `sim serve` (REST API + images on 127.0.0.1), `sim truth` (its ground truth)"


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="sim_command", required=True, metavar="{serve,truth}")
    s = sub.add_parser("serve", help="serve the offline world until Ctrl-C")
    s.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port, printed)")
    s.add_argument("--faults", default="", help='fault rates, e.g. "5xx=0.1,429=0.05,malformed=0.02,timeout=0.01,'
                                               'img5xx=0.05,truncated=0.02,html=0.01,notimage=0.01,bomb=0.005"')
    s.add_argument("--api-key", default=None, help="the key this server accepts (default: the demo key)")
    s.add_argument("--api-secret", default=None, help="the secret it checks OAuth signatures with")
    t = sub.add_parser("truth", help="write the world's ground truth (photo_id, label_id, true_label_id)")
    t.add_argument("--out", required=True, help="a .csv or .parquet file")
    for q in (s, t):
        q.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
        q.add_argument("--scale", type=float, default=0.002, help="fraction of the release's candidate counts")
        q.add_argument("--classes-file", metavar="FILE", help="your own class catalogue CSV")


def run(args) -> int:
    import time

    from catalog import load_classes
    from catalog.errors import UserError
    from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, Faults, SimServer, World

    if args.scale <= 0:
        raise UserError(f"--scale {args.scale} must be > 0 (1.0 = the release's candidate counts)")
    world = World(args.seed, args.scale, load_classes(args.classes_file))
    if args.sim_command == "truth":
        t = world.truth()
        if args.out.endswith(".parquet"):
            import pyarrow.parquet as pq
            pq.write_table(t, args.out)
        elif args.out.endswith(".csv"):
            import pyarrow.csv as pcsv
            pcsv.write_csv(t, args.out)
        else:
            raise UserError(f"--out {args.out}: use a .csv or .parquet file name")
        print(f"wrote {t.num_rows} rows to {args.out}")
        return 0
    try:
        faults = Faults.parse(args.faults)
    except ValueError as e:
        raise UserError(f"--faults: {e}") from None
    server = SimServer(world, port=args.port, api_key=args.api_key or DEMO_API_KEY,
                       api_secret=args.api_secret or DEMO_API_SECRET, faults=faults)
    with server:
        print(f"Offline Flickr at {server.rest_url} (images under {server.static_base}); "
              f"{world.num_photos} photos, seed {args.seed}, scale {args.scale}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0
