"""Where the authors' published country labels and ours disagree, with counts and example coordinates."""
from __future__ import annotations

from pathlib import Path


def audit(con, out: str | Path = "docs/geocode-audit.md", top: int = 40) -> dict:
    rows = con.execute("""
        SELECT r.author_country, g.country, count(*) AS n,
               arg_min(round(p.latitude, 4) || ', ' || round(p.longitude, 4), p.photo_id) AS example
        FROM (SELECT DISTINCT photo_id, author_country FROM release_labels) r
        JOIN geocodes g USING (photo_id) JOIN photos p USING (photo_id)
        WHERE r.author_country IS DISTINCT FROM g.country
        GROUP BY ALL ORDER BY n DESC""").fetchall()
    total = con.execute("""SELECT count(*) FROM (SELECT DISTINCT photo_id, author_country FROM release_labels) r
                           JOIN geocodes g USING (photo_id)""").fetchall()[0][0]
    methods = ", ".join(f"{m} {n:,}" for m, n in con.execute("""
        SELECT g.method, count(*) FROM (SELECT DISTINCT photo_id FROM release_labels) r JOIN geocodes g USING (photo_id)
        GROUP BY 1 ORDER BY 2 DESC""").fetchall())
    disagree = sum(r[2] for r in rows)
    agree = 1 - disagree / total if total else 0.0
    lines = ["# Geocode audit: the authors' country labels vs ours", "",
             f"Photos compared: {total:,}. Agreement: **{agree:.2%}** ({disagree:,} photos disagree).", "",
             "Ours: tz-database zone polygons (timezonefinder) name the country where a zone belongs to one country; "
             "inside zones shared by several countries (Europe/Belgrade: RS + XK, Asia/Jerusalem: IL + PS, "
             "Asia/Bangkok: TH + north VN) the Natural Earth 10m admin-0 polygons of the zone's countries decide "
             "(catalog/data/zone_borders.json, public domain; its de facto line puts East Jerusalem in IL, where "
             "GeoNames and the authors say PS), and the nearest GeoNames place (reverse_geocoder) only a point "
             "outside them (territorial waters); points south of 60°S are Antarctica; open sea is flagged, not "
             "assigned (`—` below).", "",
             f"Methods: {methods}.", "",
             "Regenerate: `flickr-mammal import-release FILE && flickr-mammal geocode --audit`.", "",
             "| authors | ours | photos | example (lat, lon) |", "|---|---|---:|---|"]
    lines += [f"| {a or '—'} | {o or '—'} | {n} | {ex} |" for a, o, n, ex in rows[:top]]
    if len(rows) > top:
        lines.append(f"| … | … | {sum(r[2] for r in rows[top:])} | {len(rows) - top} more pairs |")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")
    return {"compared": total, "agreement": round(agree, 5), "pairs": len(rows), "path": str(out),
            "top": [{"authors": a, "ours": o, "photos": n, "example": ex} for a, o, n, ex in rows[:10]]}
