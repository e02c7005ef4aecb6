"""`flickr-mammal`: one entry point; each verb lives in its own module under ``flows/commands/``.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``, and
imports heavy libraries (torch, prefect, timm) inside ``run`` so that ``--help`` stays instant.

Opening a catalog, one rule: a verb with ``--catalog`` reads an existing catalog, and a missing path is one line
(exit 2) before the verb runs, so a typo never creates an empty catalog. Only verbs that create data may start
from nothing: a module says so with ``CREATES_CATALOG = True`` (crawl, import-release, demo) or
``creates_catalog(args)`` (build and deploy, when their first stage is crawl).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from catalog.errors import UserError

# verb -> module; order is the order of `flickr-mammal --help`
COMMANDS = {
    "demo": "flows.commands.demo",
    "build": "flows.commands.build",
    "deploy": "flows.commands.deploy",
    "sim": "flows.commands.sim",
    "classes": "flows.commands.classes",
    "crawl": "flows.commands.crawl",
    "download": "flows.commands.download",
    "dedup": "flows.commands.dedup",
    "filter": "flows.commands.filter",
    "import-release": "flows.commands.import_release",
    "geocode": "flows.commands.geocode",
    "stats": "flows.commands.stats",
    "export": "flows.commands.export",
    "train": "flows.commands.train",
    "sweep": "flows.commands.sweep",
    "study": "flows.commands.study",
    "sql": "flows.commands.sql",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flickr-mammal",
        description="Build the geotagged Flickr-Mammal dataset and study decentralized training on its label skew.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for verb, modname in COMMANDS.items():
        mod = importlib.import_module(modname)
        p = sub.add_parser(verb, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _module=mod)
    return parser


def check_catalog(args) -> None:
    """The catalog rule above: a verb that does not create data needs an existing ``--catalog``."""
    from catalog.db import require_catalog

    mod = args._module
    creates = getattr(mod, "creates_catalog", None)
    if getattr(args, "catalog", None) is not None and not (
            creates(args) if creates else getattr(mod, "CREATES_CATALOG", False)):
        require_catalog(args.catalog)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_catalog(args)
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"flickr-mammal: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flickr-mammal: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
