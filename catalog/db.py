"""Open the DuckDB catalog file, apply migrations, and turn DuckDB's lock error into one line."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from catalog.errors import UserError

DEFAULT_HOME = Path(os.environ.get("FLICKR_MAMMAL_HOME", "flickr-mammal-data"))
DEFAULT_CATALOG = Path(os.environ.get("FLICKR_MAMMAL_CATALOG", DEFAULT_HOME / "catalog.duckdb"))


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every ``catalog/schema/NNN_name.sql``, in version order."""
    out = []
    for entry in resources.files("catalog.schema").iterdir():
        m = re.fullmatch(r"(\d{3})_(\w+)\.sql", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text()))
    return sorted(out)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the migrations this file has not seen, each in its own transaction. Returns the version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    version = max(done, default=0)
    for v, name, sql in migrations():
        if v in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [v, name])
        version = v
    return version


def require_catalog(path: str | os.PathLike | None = None) -> Path:
    """The catalog file, which must exist: the one line every verb that reads a catalog gives for a missing path
    (a typo in --catalog must not become a new, empty catalog)."""
    path = Path(path or DEFAULT_CATALOG)
    if not path.is_file():
        raise UserError(f"--catalog {path}: no such catalog; create one with `flickr-mammal crawl`, `import-release` "
                        f"or `demo`, or give the path of an existing one")
    return path


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False, create: bool = True,
            migrate_schema: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the catalog (default ``DEFAULT_CATALOG``), migrating it when writable; a missing file is created only
    when ``create`` (and not ``read_only``), else it is ``require_catalog``'s one line.

    A second writer gets a ``UserError`` naming the file and the process holding the lock.
    """
    path = Path(path or DEFAULT_CATALOG)
    if read_only or not create:
        require_catalog(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        msg = str(e)
        if "lock" in msg.lower():
            holder = re.search(r"PID (\d+)", msg)
            who = f" by process {holder.group(1)}" if holder else ""
            raise UserError(f"catalog {path} is locked{who}: another flickr-mammal command is writing it; "
                            f"wait for it to finish or use another --catalog") from None
        raise UserError(f"cannot open catalog {path}: {msg.splitlines()[0]}") from None
    if migrate_schema and not read_only:
        migrate(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """One unit of work: everything inside lands together or not at all. The only place that writes BEGIN,
    COMMIT or ROLLBACK: every transaction of every stage goes through here."""
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


@contextmanager
def arrow_transaction(con: duckdb.DuckDBPyConnection, table, name: str = "_batch"):
    """``transaction(con)`` with the Arrow ``table`` readable as ``name`` inside it."""
    con.register(name, table)
    try:
        with transaction(con):
            yield con
    finally:
        con.unregister(name)


def write_arrow(con: duckdb.DuckDBPyConnection, sql: str, table) -> None:
    """Run ``sql``, which reads the Arrow ``table`` as ``_batch``, in one transaction: a batch lands whole."""
    with arrow_transaction(con, table):
        con.execute(sql)
