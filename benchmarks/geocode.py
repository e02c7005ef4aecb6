"""Import + geocode the release sample tiled to ≥ 700k rows (fresh photo ids), photos/s end to end including
the catalog writes, next to plain `reverse_geocoder.search` on the same points.

Tiling repeats each coordinate `copies` times and the geocoder looks each distinct point up once, so the tiled
run is ~14× cheaper per photo than a crawl whose photos all sit at distinct points (the offline world's do). The
second geocode row moves copy c by c×1e-5° (≤ 1 m) so that every photo has its own point: that is the per-photo
cost to compare with `benchmarks/fullscale.py`.

    .venv/bin/python benchmarks/geocode.py [--copies 10]
"""
from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from catalog import connect
from pipeline.geocode import GeocodeSettings, geocode_catalog
from pipeline.release import import_release

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "flickr_mammal" / "release_sample_10pct.csv"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        big = Path(d) / "release_x.csv"
        rows = list(csv.reader(open(SAMPLE)))
        with open(big, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(rows[0])
            for c in range(a.copies):
                for r in rows[1:]:
                    r2 = list(r)
                    pid = r2[7].rsplit("/", 1)[1].split("_")[0]
                    r2[7] = r2[7].replace(f"/{pid}_", f"/{int(pid) * 100 + c}_")
                    w.writerow(r2)
        n = (len(rows) - 1) * a.copies
        con = connect(Path(d) / "c.duckdb")
        t0 = time.perf_counter()
        imp = import_release(con, big)
        t_imp = time.perf_counter() - t0
        t0 = time.perf_counter()
        geocode_catalog(con)
        t_geo = time.perf_counter() - t0
        distinct = con.execute("SELECT count(DISTINCT (latitude, longitude)) FROM photos").fetchall()[0][0]
        con.execute("UPDATE photos SET latitude = latitude + (photo_id % 100) * 1e-5")
        distinct2 = con.execute("SELECT count(DISTINCT (latitude, longitude)) FROM photos").fetchall()[0][0]
        t0 = time.perf_counter()
        geocode_catalog(con, GeocodeSettings(redo=True))
        t_geo2 = time.perf_counter() - t0
        pts = con.execute("SELECT latitude, longitude FROM photos").fetchall()
        import reverse_geocoder as rg
        rg.search([(0.0, 0.0)], mode=1, verbose=False)          # load its tree first, as we do
        t0 = time.perf_counter()
        rg.search(pts, mode=1, verbose=False)
        t_rg = time.perf_counter() - t0
    print(f"\n{n:,} release rows ({imp['photos']:,} photos), 2 cores")
    print(f"{'step':<40}{'seconds':>9}{'photos/s':>12}")
    print(f"{'import-release (CSV → catalog)':<40}{t_imp:>9.2f}{imp['photos'] / t_imp:>12,.0f}")
    print(f"{'geocode (tz + nearest place, write)':<40}{t_geo:>9.2f}{imp['photos'] / t_geo:>12,.0f}")
    print(f"{'geocode, every photo its own point':<40}{t_geo2:>9.2f}{imp['photos'] / t_geo2:>12,.0f}   "
          f"({distinct2:,} distinct points; tiled: {distinct:,})")
    for name, t, k in (("tiled", t_geo, distinct), ("own points", t_geo2, distinct2)):
        print(f"  {name}: {t / imp['photos'] * 1e6:.1f} µs per photo, {t / k * 1e6:.1f} µs per distinct point")
    print(f"{'import + geocode, end to end':<40}{t_imp + t_geo:>9.2f}{imp['photos'] / (t_imp + t_geo):>12,.0f}   "
          "(goal ≥ 200,000)")
    print(f"{'plain reverse_geocoder.search (mode=1)':<40}{t_rg:>9.2f}{len(pts) / t_rg:>12,.0f}")


if __name__ == "__main__":
    main()
