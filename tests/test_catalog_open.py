"""One rule for opening a catalog (issue 20): only verbs that create data may start from a missing --catalog; every
other verb refuses it in one line (exit 2) and leaves no file behind. The verbs are read from the CLI's parser, so
a new verb with --catalog is covered without editing this test."""
from __future__ import annotations

import argparse

import pytest

from tests.conftest import run_cli

CREATORS = {"crawl", "import-release"}      # and demo, which has no --catalog (it makes its own under --home)
NOT_FIRST = ["--stages", "geocode"]          # build/deploy without crawl first read an existing catalog


def _subparsers(p):
    return next((a for a in p._actions if isinstance(a, argparse._SubParsersAction)), None)


def catalog_verbs() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    from flows.cli import build_parser

    out = {}
    for verb, p in _subparsers(build_parser()).choices.items():
        nested = _subparsers(p)
        for path, q in ([((verb, s), q) for s, q in nested.choices.items()] if nested else [((verb,), p)]):
            if any(a.dest == "catalog" for a in q._actions):
                out[path] = q
    return out


def argv_for(path, parser, catalog) -> list[str]:
    """The verb with its required arguments filled in, plus ``--catalog CATALOG``."""
    args = list(path)
    for a in parser._actions:
        if a.required and a.dest != "catalog" and not isinstance(a, argparse._SubParsersAction):
            args += ["x"] if not a.option_strings else [a.option_strings[0], "x"]
    if path[0] in ("build", "deploy"):
        args += NOT_FIRST
    return [*args, "--catalog", str(catalog)]


READERS = [p for p in catalog_verbs() if p[0] not in CREATORS]


def test_the_verbs_with_a_catalog_are_all_covered():
    verbs = {p[0] for p in catalog_verbs()}
    assert CREATORS <= verbs and {"geocode", "download", "dedup", "filter", "export", "stats", "sql", "build",
                                  "deploy"} <= verbs
    import importlib

    from flows.cli import COMMANDS

    declared = {v for v, m in COMMANDS.items() if getattr(importlib.import_module(m), "CREATES_CATALOG", False)}
    assert declared == CREATORS | {"demo"}


@pytest.mark.parametrize("path", READERS, ids=[" ".join(p) for p in READERS])
def test_a_reading_verb_refuses_a_missing_catalog_in_one_line_and_creates_nothing(path, tmp_path, capsys):
    from flows.cli import main

    missing = tmp_path / "typo" / "does-not-exist.duckdb"
    assert main(argv_for(path, catalog_verbs()[path], missing)) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"flickr-mammal: error: --catalog {missing}: no such catalog; create one with "
                                f"`flickr-mammal crawl`, `import-release` or `demo`, or give the path of an existing "
                                f"one"] and out == ""
    assert not missing.exists() and not missing.parent.exists()


def test_geocode_with_a_typo_in_catalog_exits_2_from_the_real_cli(tmp_path):
    """The issue's case, end to end: no "geocoded 0 photos", no new file."""
    missing = tmp_path / "does-not-exist.duckdb"
    r = run_cli("geocode", "--catalog", missing, timeout=120)
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "no such catalog" in r.stderr
    assert not missing.exists()


def test_build_starting_with_crawl_may_create_the_catalog(tmp_path):
    """`build` and `deploy` create data when their first stage does (crawl); the check lets them through."""
    from flows.cli import build_parser, check_catalog

    missing = tmp_path / "new.duckdb"
    for verb in ("build", "deploy"):
        check_catalog(build_parser().parse_args([verb, "--catalog", str(missing)]))      # no error
        check_catalog(build_parser().parse_args([verb, "--catalog", str(missing), "--stages", "geocode,crawl"]))
        with pytest.raises(Exception, match="no such catalog"):
            check_catalog(build_parser().parse_args([verb, "--catalog", str(missing), *NOT_FIRST]))
    assert not missing.exists()


def test_connect_creates_only_when_asked(tmp_path):
    from catalog import connect
    from catalog.errors import UserError

    path = tmp_path / "c.duckdb"
    for kw in ({"create": False}, {"read_only": True}):
        with pytest.raises(UserError, match="no such catalog"):
            connect(path, **kw)
        assert not path.exists()
    connect(path).close()                  # library default: create (tests, benchmarks, creating verbs)
    connect(path, create=False).close()    # now it exists
    assert path.exists()
