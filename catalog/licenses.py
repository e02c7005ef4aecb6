"""Flickr's license ids (``flickr.photos.licenses.getInfo``) with short names, titles and URLs: one data file,
``catalog/data/licenses.csv``, read by the offline service's getInfo and by the export (filter, attribution)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from catalog.errors import UserError


@dataclass(frozen=True)
class License:
    license_id: int
    short: str      # what `export --licenses` takes: cc-by, cc-by-sa, cc0, pdm, ...
    name: str       # as flickr.photos.licenses.getInfo names it
    title: str      # e.g. "CC BY 2.0"
    url: str        # "" for All Rights Reserved


@lru_cache(maxsize=1)
def load_licenses() -> tuple[License, ...]:
    text = resources.files("catalog.data").joinpath("licenses.csv").read_text()
    return tuple(License(int(r["license_id"]), r["short"], r["name"], r["title"], r["url"])
                 for r in csv.DictReader(io.StringIO(text)))


def license_ids(shorts: list[str] | str) -> list[int]:
    """Short names (a list, or comma-separated) → license ids; an unknown name is one line listing the valid ones."""
    if isinstance(shorts, str):
        shorts = [s.strip() for s in shorts.split(",") if s.strip()]
    by_short = {lic.short: lic.license_id for lic in load_licenses()}
    unknown = [s for s in shorts if s not in by_short]
    if unknown or not shorts:
        raise UserError(f"--licenses {','.join(shorts)}: unknown license {unknown[0] if unknown else '(none)'!r}; "
                        f"licenses are {', '.join(by_short)}")
    return sorted({by_short[s] for s in shorts})
