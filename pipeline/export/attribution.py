"""Licenses of an export: keep only the named ones, and credit every exported photo in ATTRIBUTION.csv (never its
secret: page URLs only)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa

from catalog.licenses import kind, license_ids, load_licenses

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


def license_report(spec: str, private: bool, exported: dict[str, int], left_out: dict[str, int]) -> dict:
    """manifest.json's ``licenses``: what was asked for, what is in, what was left out, and so what kind of release
    this is (``images``, ``urls`` or ``private``) and why. ``exported``/``left_out``: photos per license short name."""
    included = [x.short for x in load_licenses() if x.license_id in license_ids(spec)]
    kinds = {kind(s) for s in exported}
    restricted = sorted(s for s in exported if kind(s) == "restricted")
    if private:
        release, why = "private", ("--private: images under every selected license, All Rights Reserved included, "
                                   "copied for the catalog owner's own use; this folder must not be shared")
    elif "arr" in kinds:
        release, why = "urls", ("the selection includes All Rights Reserved photos, which may not be redistributed: "
                                "a URL-and-attribution release (each photo's Flickr page URL, owner and license; no "
                                "images and no image paths)")
    else:
        release, why = "images", ("every included license allows copying the images with credit (ATTRIBUTION.csv)"
                                  + (f"; {', '.join(restricted)} included on request: no commercial use (NC) and/or "
                                     "no adaptations (ND) by whoever uses them" if restricted else
                                     "; NC and ND photos are left out by default, as their use is restricted (no "
                                     "commercial use, no adaptations: our images are resized copies)")
                                  + "; All Rights Reserved photos are left out: they may not be redistributed")
    return {"requested": spec, "included": included, "photos": exported, "left_out": left_out, "release": release,
            "images": release != "urls", "why": why}
