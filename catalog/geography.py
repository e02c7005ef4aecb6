"""The M49 tables (every country code the geocoder can emit → sub-region and continent) as package data."""
from __future__ import annotations

import csv
import io
import json
from functools import cache
from importlib import resources


def _rows(name: str) -> list[dict]:
    text = resources.files("catalog.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))   # csv keeps "NA" a string (pandas would not)


@cache
def country_regions() -> dict[str, tuple[int, int]]:
    """country → (sub-region code, continent code). Namibia is "NA", a string, never a missing value."""
    return {r["country"]: (int(r["subregion_code"]), int(r["continent_code"])) for r in _rows("m49_countries.csv")}


@cache
def region_names() -> dict[int, str]:
    return {int(r["code"]): r["name"] for r in _rows("m49_regions.csv")}


@cache
def zone_countries() -> dict[str, tuple[str, frozenset[str]]]:
    """tz zone → (its home country from the tz database's zone.tab, every country its polygon spans).

    "Spans" was measured once by locating GeoNames places in timezonefinder's polygons (a country counts
    when ≥ 10 places and ≥ 2% of its places fall in the zone): Asia/Bangkok spans TH and north VN,
    Asia/Jerusalem IL and PS, Europe/Belgrade RS and XK.
    """
    out: dict[str, tuple[str, set]] = {}
    for r in _rows("tz_zone_country.csv"):
        home, spans = out.get(r["zone"], (None, set()))
        spans.add(r["country"])
        out[r["zone"]] = (r["country"] if r["home"] == "true" else home, spans)
    return {z: (h or sorted(s)[0], frozenset(s)) for z, (h, s) in out.items()}


@cache
def zone_borders() -> dict[str, list]:
    """country → its Natural Earth 10m admin-0 rings ([lon, lat] arrays, even-odd), for the countries that share
    a tz zone (zone_borders.json, derived by ``python -m pipeline.geocode.make_borders``; public domain)."""
    import numpy as np

    text = resources.files("catalog.data").joinpath("zone_borders.json").read_text(encoding="utf-8")
    return {cc: [np.asarray(r, dtype=float) for r in rings] for cc, rings in json.loads(text)["countries"].items()}


def load_m49(con) -> None:
    """Fill the catalog's M49 tables (idempotent)."""
    con.execute("DELETE FROM m49_regions")
    con.executemany("INSERT INTO m49_regions VALUES (?, ?, ?)", [[int(r["code"]), r["name"], r["level"]]
                                                                for r in _rows("m49_regions.csv")])
    con.execute("DELETE FROM m49_countries")
    con.executemany("INSERT INTO m49_countries VALUES (?, ?, ?)",
                    [[c, s, k] for c, (s, k) in country_regions().items()])
