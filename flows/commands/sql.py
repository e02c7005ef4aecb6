"""`flickr-mammal sql`."""
from __future__ import annotations

HELP = "run SQL on the catalog (read-only): a table, --csv or --json"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("query", help='e.g. "SELECT label, count(*) FROM dataset GROUP BY ALL"')
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV to stdout")
    fmt.add_argument("--json", action="store_true", help="a JSON list of rows")
    p.add_argument("--max-rows", type=int, default=100, help="rows shown in table mode (default 100)")


def run(args) -> int:
    import csv
    import sys

    import duckdb

    from catalog import connect
    from catalog.errors import UserError
    from flows.commands.common import print_json

    con = connect(args.catalog, read_only=True)
    try:
        rel = con.sql(args.query)
    except duckdb.Error as e:
        raise UserError(f"SQL error: {str(e).splitlines()[0]}") from None
    if rel is None:
        return 0
    cols = rel.columns
    rows = rel.fetchall()
    if args.json:
        print_json([dict(zip(cols, r)) for r in rows])
    elif args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    else:
        shown = [[("" if v is None else str(v)) for v in r] for r in rows[: args.max_rows]]
        widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(cols)]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        print("  ".join("-" * w for w in widths))
        for r in shown:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
        if len(rows) > args.max_rows:
            print(f"... {len(rows) - args.max_rows} more rows (--max-rows, --csv or --json for all)")
    return 0
