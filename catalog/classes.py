"""The class catalogue: which classes to crawl, their labels, search text and ImageNet synsets."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from catalog.errors import UserError

COLUMNS = ("label_id", "name", "search_text", "oi_mid", "imagenet_synsets", "in_release")


@dataclass(frozen=True)
class MammalClass:
    label_id: int
    name: str
    search_text: str
    oi_mid: str
    imagenet_synsets: tuple[str, ...]
    in_release: bool


def _parse(text: str, source: str) -> list[MammalClass]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip() for c in rows[0]) != COLUMNS:
        raise UserError(f"class catalogue {source}: header must be {','.join(COLUMNS)}")
    out, seen_ids, seen_names = [], set(), set()
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        where = f"class catalogue {source}, row {n}"
        if len(row) != len(COLUMNS):
            raise UserError(f"{where}: expected {len(COLUMNS)} fields, got {len(row)}")
        lid, name, text, mid, synsets, in_rel = (c.strip() for c in row)
        if not lid.isdigit():
            raise UserError(f"{where}: label_id {lid!r} is not a non-negative integer")
        if not name or not text:
            raise UserError(f"{where}: name and search_text must not be empty")
        syn = tuple(synsets.split())
        bad = [s for s in syn if not (len(s) == 9 and s[0] == "n" and s[1:].isdigit())]
        if bad:
            raise UserError(f"{where}: {bad[0]!r} is not an ImageNet synset id like n02132136")
        if in_rel.lower() not in ("true", "false"):
            raise UserError(f"{where}: in_release must be true or false, got {in_rel!r}")
        if int(lid) in seen_ids or name.lower() in seen_names:
            raise UserError(f"{where}: duplicate label_id {lid} or name {name!r}")
        seen_ids.add(int(lid))
        seen_names.add(name.lower())
        out.append(MammalClass(int(lid), name, text, mid, syn, in_rel.lower() == "true"))
    if not out:
        raise UserError(f"class catalogue {source} has no classes")
    return sorted(out, key=lambda c: c.label_id)


def load_classes(path: str | Path | None = None) -> list[MammalClass]:
    """The packaged 42-class catalogue, or a user's CSV with the same columns."""
    if path is None:
        return _parse(resources.files("catalog.data").joinpath("classes.csv").read_text(), "(built-in)")
    p = Path(path)
    if not p.is_file():
        raise UserError(f"class catalogue {p} not found: pass a CSV with columns {','.join(COLUMNS)}")
    return _parse(p.read_text(encoding="utf-8"), str(p))


def select_classes(classes: list[MammalClass], wanted: list[str] | None) -> list[MammalClass]:
    """Pick classes by name or label id; an unknown one is a UserError listing how to see the names."""
    if not wanted:
        return classes
    by_key = {c.name.lower(): c for c in classes} | {str(c.label_id): c for c in classes}
    out = []
    for w in wanted:
        c = by_key.get(w.strip().lower())
        if c is None:
            raise UserError(f"unknown class {w!r}: see `flickr-mammal classes` for names and label ids")
        if c not in out:
            out.append(c)
    return out


def sync_classes(con, classes: list[MammalClass]) -> None:
    """Upsert the catalogue into the ``classes`` table (one statement)."""
    con.executemany(
        "INSERT INTO classes VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (label_id) DO UPDATE SET name = excluded.name, "
        "search_text = excluded.search_text, oi_mid = excluded.oi_mid, imagenet_synsets = excluded.imagenet_synsets, "
        "in_release = excluded.in_release",
        [[c.label_id, c.name, c.search_text, c.oi_mid, list(c.imagenet_synsets), c.in_release] for c in classes],
    )
