"""Arguments and output helpers shared by the command modules."""
from __future__ import annotations

import json
import sys

from catalog.db import DEFAULT_CATALOG


def add_catalog_argument(p) -> None:
    p.add_argument("--catalog", default=str(DEFAULT_CATALOG),
                   help=f"DuckDB catalog file (default: {DEFAULT_CATALOG}; env FLICKR_MAMMAL_CATALOG)")


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
