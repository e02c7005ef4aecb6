"""Catalog rows → numbered shards of photos still to download."""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STATIC_BASE = "https://live.staticflickr.com"


@dataclass(frozen=True)
class Job:
    photo_id: int
    label_id: int          # the photo's first class decides its folder
    class_name: str
    urls: tuple[str, ...]  # url_z, then url_c, then the static URL built from server/id/secret


def read_jobs(con, static_base: str | None = None, retry_failed: bool = False) -> list[Job]:
    """Photos with no successful download yet, in photo id order (so shards are stable across runs)."""
    base = (static_base or DEFAULT_STATIC_BASE).rstrip("/")
    done = "d.photo_id IS NULL" + ("" if not retry_failed else " OR d.status = 'failed'")
    rows = con.execute(f"""
        SELECT p.photo_id, min(pc.label_id) AS label_id, p.url_z, p.url_c, p.server, p.secret
        FROM photos p JOIN photo_classes pc USING (photo_id) LEFT JOIN downloads d USING (photo_id)
        WHERE {done}
        GROUP BY ALL ORDER BY p.photo_id""").fetchall()
    names = dict(con.execute("SELECT label_id, name FROM classes").fetchall())
    jobs = []
    for pid, lid, url_z, url_c, server, secret in rows:
        urls = [u for u in (url_z, url_c) if u]
        if server and secret:
            urls.append(f"{base}/{server}/{pid}_{secret}.jpg")
        jobs.append(Job(int(pid), int(lid), names.get(lid, str(lid)), tuple(dict.fromkeys(urls))))
    return jobs


def shard(jobs: list[Job], size: int) -> list[tuple[int, list[Job]]]:
    """Numbered by the first photo id, so a rerun names the same shard the same way."""
    return [(jobs[i].photo_id, jobs[i:i + size]) for i in range(0, len(jobs), size)]


def recorded_shards(con) -> set[str]:
    """Names of the shard tars the catalog already points at (``shards/<name>.tar#...`` paths)."""
    rows = con.execute("""SELECT DISTINCT split_part(path, '#', 1) FROM downloads
                          WHERE status = 'ok' AND path LIKE 'shards/%#%'""").fetchall()
    return {p.removeprefix("shards/").removesuffix(".tar") for (p,) in rows}
