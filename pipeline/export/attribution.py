"""Licenses of an export: keep only the named ones, and credit every exported photo in ATTRIBUTION.csv (never its
secret: page URLs only)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa

from catalog.licenses import load_licenses

FIELDS = ("photo_id", "photo_url", "owner", "owner_name", "license_id", "license", "license_url")


def photo_page(photo_id: int, owner: str | None) -> str:
    """The photo's Flickr page; without a known owner (release rows), Flickr's owner-less redirect."""
    return (f"https://www.flickr.com/photos/{owner}/{photo_id}" if owner
            else f"https://www.flickr.com/photo.gne?id={photo_id}")


def write_attribution(out: Path, photos: pa.Table) -> dict[str, int]:
    """``photos``: one row per exported photo (photo_id, owner, owner_name, license), sorted by photo_id.
    Writes ``out/ATTRIBUTION.csv``; returns photos per license title (for the datasheet)."""
    lic = {x.license_id: x for x in load_licenses()}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIELDS)
    counts: dict[str, int] = {}
    for pid, owner, owner_name, lid in zip(*(photos[c].to_pylist() for c in ("photo_id", "owner", "owner_name",
                                                                             "license"))):
        x = lic.get(lid)
        title = x.title if x else "unknown"
        counts[title] = counts.get(title, 0) + 1
        w.writerow([pid, photo_page(pid, owner), owner or "", owner_name or "", "" if lid is None else lid, title,
                    x.url if x else ""])
    (out / "ATTRIBUTION.csv").write_text(buf.getvalue())
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
