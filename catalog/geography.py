"""The M49 tables (every country code the geocoder can emit → sub-region and continent) as package data."""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources


def _rows(name: str) -> list[dict]:
    text = resources.files("catalog.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))   # csv keeps "NA" a string (pandas would not)


@lru_cache(maxsize=None)
def country_regions() -> dict[str, tuple[int, int]]:
    """country → (sub-region code, continent code). Namibia is "NA", a string, never a missing value."""
    return {r["country"]: (int(r["subregion_code"]), int(r["continent_code"])) for r in _rows("m49_countries.csv")}


@lru_cache(maxsize=None)
def region_names() -> dict[int, str]:
    return {int(r["code"]): r["name"] for r in _rows("m49_regions.csv")}


@lru_cache(maxsize=None)
def zone_countries() -> dict[str, str]:
    """tz database zone → the country it belongs to (from the tz database's zone.tab)."""
    return {r["zone"]: r["country"] for r in _rows("tz_zone_country.csv")}


def load_m49(con) -> None:
    """Fill the catalog's M49 tables (idempotent)."""
    con.execute("DELETE FROM m49_regions")
    con.executemany("INSERT INTO m49_regions VALUES (?, ?, ?)", [[int(r["code"]), r["name"], r["level"]]
                                                                for r in _rows("m49_regions.csv")])
    con.execute("DELETE FROM m49_countries")
    con.executemany("INSERT INTO m49_countries VALUES (?, ?, ?)", [[c, s, k] for c, (s, k) in country_regions().items()])
