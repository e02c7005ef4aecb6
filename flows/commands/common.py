"""Arguments and output helpers shared by the command modules."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields

from catalog.db import DEFAULT_CATALOG


def add_catalog_argument(p) -> None:
    p.add_argument("--catalog", default=str(DEFAULT_CATALOG),
                   help=f"DuckDB catalog file (default: {DEFAULT_CATALOG}; env FLICKR_MAMMAL_CATALOG)")


def add_prefect_argument(p, default: bool) -> None:
    p.add_argument("--prefect", action=argparse.BooleanOptionalAction, default=default,
                   help="run as a Prefect flow (a temporary API server unless PREFECT_API_URL is set), or without "
                        f"Prefect: the same stage function with the same settings (default: "
                        f"{'--prefect' if default else '--no-prefect'})")


def comma_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def stage_settings(cls, args, **overrides):
    """The stage's settings object from the parsed flags: every field whose flag was given (argparse dest = field
    name); a flag left out keeps the dataclass's default, so each default lives in one place."""
    kw = {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}
    return cls(**(kw | overrides))


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
