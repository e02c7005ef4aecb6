"""Country, M49 sub-region and continent of coordinates: tz boundaries where they decide, nearest place otherwise.

Plain nearest-place lookup (reverse_geocoder, and the authors' labels, which behave like it) errs at borders:
Maasai Mara → Tanzania, Singapore → Malaysia. The tz database's zone polygons (timezonefinder, unsimplified
OpenStreetMap-derived) follow real borders, and each zone belongs to one country — except where a country has
no zone of its own (Kosovo inside Europe/Belgrade, north Vietnam inside Asia/Bangkok): inside zones that
span several countries the nearest place decides.
"""
from __future__ import annotations

import numpy as np

from catalog.geography import country_regions, zone_countries

ANTARCTIC_LAT = -60.0        # the Antarctic Treaty area
REMOTE_KM = 150.0            # farther than this from any GeoNames place: flagged, still assigned
SEA_ASSIGN_KM = 100.0        # at sea but this close to a place (whale watching off a coast): that place's country
FLAGS = ("invalid", "sea", "antarctica", "remote")
_tf = None


def _timezonefinder():
    global _tf
    if _tf is None:
        from timezonefinder import TimezoneFinder
        _tf = TimezoneFinder(in_memory=True)
    return _tf


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


def geocode(lat, lon, accuracy=None) -> dict[str, np.ndarray]:
    """Arrays: country, subregion_code, continent_code, distance_km, method, flag (None where none)."""
    import reverse_geocoder as rg

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
        import pandas as pd

        inverse, keys = pd.factorize(lat[idx] + 1j * lon[idx])             # a hash, not a sort of 2-D rows
        uniq = np.stack([keys.real, keys.imag], 1)
        places = rg.search([tuple(p) for p in uniq], mode=1, verbose=False)
        rg_cc = np.array([p["cc"] for p in places], dtype=object)
        plat = np.array([float(p["lat"]) for p in places])
        plon = np.array([float(p["lon"]) for p in places])
        d = haversine_km(uniq[:, 0], uniq[:, 1], plat, plon)
        tf = _timezonefinder()
        zcc = zone_countries()
        u_country = np.empty(len(uniq), dtype=object)
        u_method = np.empty(len(uniq), dtype=object)
        u_flag = np.full(len(uniq), None, dtype=object)
        for i, (la, lo) in enumerate(uniq):
            if la < ANTARCTIC_LAT:
                u_country[i], u_method[i], u_flag[i] = "AQ", "antarctic-treaty", "antarctica"
                continue
            zone = tf.timezone_at(lat=la, lng=lo)
            if zone is None or zone.startswith("Etc/"):
                near = d[i] <= SEA_ASSIGN_KM
                u_country[i], u_method[i], u_flag[i] = (rg_cc[i] if near else None), "nearest-place", "sea"
                continue
            home, spans = zcc.get(zone, (None, frozenset()))
            if home is None or (len(spans) > 1 and rg_cc[i] in spans):
                u_country[i], u_method[i] = rg_cc[i], "nearest-place"     # zone spans several countries
            else:
                u_country[i], u_method[i] = home, "tz-boundary"
            if d[i] > REMOTE_KM:
                u_flag[i] = "remote"
        country[idx], method[idx], flag[idx], dist[idx] = (u_country[inverse], u_method[inverse], u_flag[inverse],
                                                           d[inverse])
    regions = country_regions()
    sub = np.array([regions.get(c, (None, None))[0] if c else None for c in country], dtype=object)
    cont = np.array([regions.get(c, (None, None))[1] if c else None for c in country], dtype=object)
    return {"country": country, "subregion_code": sub, "continent_code": cont, "distance_km": dist,
            "method": method, "flag": flag}
