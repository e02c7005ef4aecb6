"""Geocode every photo of the catalog that has coordinates and no geocode yet, in one bulk write."""
from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from catalog.db import transaction, write_arrow
from catalog.geography import load_m49
from pipeline.geocode.geocoder import geocode
from pipeline.geocode.settings import GeocodeSettings


def geocode_catalog(con, settings: GeocodeSettings | None = None) -> dict:
    """The geocode stage, with or without Prefect."""
    redo = (settings or GeocodeSettings()).redo
    t0 = time.perf_counter()
    with transaction(con):
        load_m49(con)
    where = "" if redo else "WHERE photo_id NOT IN (SELECT photo_id FROM geocodes)"
    tbl = con.sql(f"SELECT photo_id, latitude, longitude, accuracy FROM photos {where} "
                  "ORDER BY photo_id").to_arrow_table()
    n = tbl.num_rows
    if n:
        lat = tbl["latitude"].to_numpy(zero_copy_only=False).astype(float)
        lon = tbl["longitude"].to_numpy(zero_copy_only=False).astype(float)
        acc = tbl["accuracy"].to_numpy(zero_copy_only=False).astype(float)
        g = geocode(lat, lon, acc)
        out = pa.table({
            "photo_id": tbl["photo_id"],
            "country": pa.array(g["country"].tolist(), pa.string()),
            "subregion_code": pa.array(g["subregion_code"].tolist(), pa.int32()),
            "continent_code": pa.array(g["continent_code"].tolist(), pa.int32()),
            "distance_km": pa.array(np.round(g["distance_km"], 3), pa.float64(), from_pandas=True),
            "method": pa.array(g["method"].tolist(), pa.string()),
            "flag": pa.array(g["flag"].tolist(), pa.string()),
        })
        write_arrow(con, "INSERT OR REPLACE INTO geocodes SELECT * FROM _batch", out)
    flags = dict(con.execute("SELECT coalesce(flag, 'ok'), count(*) FROM geocodes GROUP BY 1").fetchall())
    dt = time.perf_counter() - t0
    return {"geocoded": n, "flags": flags, "seconds": round(dt, 2), "photos_per_s": round(n / dt) if n else 0}
