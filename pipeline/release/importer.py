"""Load the published Flickr-Mammal release (its own layout, or the single-file form) into the catalog."""
from __future__ import annotations

from pathlib import Path

from catalog.classes import load_classes, sync_classes
from catalog.db import transaction
from catalog.errors import UserError

LAYOUT_COLUMNS = "img_id,lat,lon,lic,acc,url,country,region1,region2"
SINGLE_COLUMNS = "label_id,label," + LAYOUT_COLUMNS


def slug(name: str) -> str:
    """The release names its metadata files by class name, lower-cased, spaces as underscores."""
    return name.lower().replace(" ", "_")


def _header(path: Path) -> str:
    with open(path, encoding="utf-8-sig") as f:
        return f.readline().strip()


def _staging_sql(source: Path) -> tuple[str, list]:
    """A SELECT of (label name, img_id, lat, lon, lic, acc, url, country, region1, region2) as text, never
    turning "NA" (Namibia) into a missing value: every column is read as VARCHAR."""
    if source.is_dir():
        names_file, meta = source / "mammal.csv", source / "metadata"
        if not names_file.is_file() or not meta.is_dir():
            raise UserError(f"{source} is not a release folder: expected mammal.csv and metadata/<class>.csv")
        names = [ln.strip() for ln in names_file.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
        files = []
        for name in names:
            f = meta / f"{slug(name)}.csv"
            if not f.is_file():
                raise UserError(f"release folder {source}: {f} is missing for class {name!r} listed in mammal.csv")
            if _header(f) != LAYOUT_COLUMNS:
                raise UserError(f"{f}: header must be {LAYOUT_COLUMNS}")
            files.append(str(f))
        cases = " ".join(f"WHEN '{slug(n)}' THEN '{n.replace(chr(39), chr(39) * 2)}'" for n in names)
        sql = (f"SELECT CASE regexp_extract(filename, '([^/\\\\]+)\\.csv$', 1) {cases} END AS label, "
               f"{LAYOUT_COLUMNS} FROM read_csv(?, header = true, all_varchar = true, filename = true)")
        return sql, [files]
    if not source.is_file():
        raise UserError(f"release {source} not found: give the release folder (mammal.csv, metadata/) or its CSV")
    if _header(source) != SINGLE_COLUMNS:
        raise UserError(f"{source}: header must be {SINGLE_COLUMNS}")
    return f"SELECT label, {LAYOUT_COLUMNS} FROM read_csv(?, header = true, all_varchar = true)", [str(source)]


def import_release(con, source: str | Path) -> dict:
    """One transaction: photos (ids from the URL), their classes, and the authors' own geography."""
    source = Path(source)
    classes = load_classes()
    by_name = {c.name.lower(): c.label_id for c in classes}
    staging, params = _staging_sql(source)
    con.execute("CREATE OR REPLACE TEMP TABLE _labels AS SELECT * FROM (VALUES " +
                ", ".join(f"('{n}', {i})" for n, i in by_name.items()) + ") t(lname, label_id)")
    # one pass over the CSV straight into typed rows (no raw staging table)
    con.execute(rf"""
        CREATE OR REPLACE TEMP TABLE _rows AS
        SELECT l.label_id, r.label AS label_name,
               CAST(regexp_extract(r.url, '/(\d+)_[0-9a-f]+(?:_[a-z])?\.jpg', 1) AS BIGINT) AS photo_id,
               regexp_extract(r.url, '/(\d+)_([0-9a-f]+)(?:_[a-z])?\.jpg', 2) AS secret,
               regexp_extract(r.url, 'staticflickr\.com/(\d+)/', 1) AS server,
               TRY_CAST(regexp_extract(r.url, '//farm(\d+)\.', 1) AS INTEGER) AS farm,
               TRY_CAST(r.lat AS DOUBLE) AS latitude, TRY_CAST(r.lon AS DOUBLE) AS longitude,
               TRY_CAST(r.acc AS INTEGER) AS acc, TRY_CAST(r.lic AS INTEGER) AS lic, r.url,
               nullif(r.country, '') AS country, TRY_CAST(r.region1 AS INTEGER) AS region1,
               TRY_CAST(r.region2 AS INTEGER) AS region2
        FROM ({staging}) r LEFT JOIN _labels l ON lower(r.label) = l.lname""", params)
    unknown = [r[0] for r in con.execute("SELECT DISTINCT label_name FROM _rows WHERE label_id IS NULL").fetchall()]
    if unknown:
        raise UserError(f"release {source}: class {unknown[0]!r} is not in the class catalogue")
    bad = con.execute("SELECT count(*) FROM _rows WHERE photo_id IS NULL").fetchall()[0][0]
    if bad:
        raise UserError(f"release {source}: {bad} rows have a url without a Flickr photo id")
    before = con.execute("SELECT count(*) FROM photos").fetchall()[0][0]
    with transaction(con):
        sync_classes(con, classes)
        con.execute("""
            INSERT INTO photos (photo_id, secret, server, farm, latitude, longitude, accuracy, license, source)
            SELECT photo_id, any_value(secret), any_value(server), any_value(farm), any_value(latitude),
                   any_value(longitude), any_value(acc), any_value(lic), 'release'
            FROM _rows GROUP BY photo_id ON CONFLICT DO NOTHING""")
        con.execute("INSERT INTO photo_classes SELECT DISTINCT photo_id, label_id FROM _rows ON CONFLICT DO NOTHING")
        con.execute("""INSERT INTO release_labels SELECT photo_id, label_id, any_value(country), any_value(region1),
                       any_value(region2), any_value(lic), any_value(acc), any_value(url) FROM _rows
                       GROUP BY photo_id, label_id ON CONFLICT DO NOTHING""")
    rows = con.execute("SELECT count(*), count(DISTINCT photo_id) FROM _rows").fetchall()[0]
    after = con.execute("SELECT count(*) FROM photos").fetchall()[0][0]
    for t in ("_labels", "_rows"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return {"rows": rows[0], "photos": rows[1], "new_photos": after - before}
