"""Flickr's license ids (``flickr.photos.licenses.getInfo``) with short names, titles and URLs: one data file,
``catalog/data/licenses.csv``, read by the offline service's getInfo and by the export (filter, attribution).

What may be redistributed (docs/export.md, "Licenses"): ``open`` licenses allow copying the images for any use with
credit; ``restricted`` ones (NC, ND) allow copying but limit the use (no commercial use; no adaptations — our
images are resized copies); ``arr`` (All Rights Reserved) allows neither, so only the page URL may be shared."""
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


OPEN = ("cc-by", "cc-by-sa", "cc0", "pdm", "nkcr", "usgov")          # copy and reuse for any purpose, with credit
RESTRICTED = ("cc-by-nc", "cc-by-nc-sa", "cc-by-nc-nd", "cc-by-nd")  # copy, but no commercial use / no adaptations
GROUPS = {"open": OPEN, "all": None}                                  # None: every license


def kind(short: str) -> str:
    """``open``, ``restricted`` or ``arr``: what an export may do with a photo under this license."""
    return "open" if short in OPEN else "restricted" if short in RESTRICTED else "arr"


def license_ids(shorts: list[str] | str) -> list[int]:
    """Short names or groups (``open``, ``all``; a list, or comma-separated) → license ids; an unknown name is one
    line listing the valid ones."""
    if isinstance(shorts, str):
        shorts = [s.strip() for s in shorts.split(",") if s.strip()]
    by_short = {lic.short: lic.license_id for lic in load_licenses()}
    unknown = [s for s in shorts if s not in by_short and s not in GROUPS]
    if unknown or not shorts:
        raise UserError(f"--licenses {','.join(shorts)}: unknown license {unknown[0] if unknown else '(none)'!r}; "
                        f"licenses are {', '.join(by_short)} or the groups {', '.join(GROUPS)}")
    ids = set()
    for s in shorts:
        group = GROUPS[s] if s in GROUPS else (s,)
        ids |= set(by_short.values()) if group is None else {by_short[g] for g in group}
    return sorted(ids)
