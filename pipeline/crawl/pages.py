"""Turn one page of `flickr.photos.search` JSON into typed columns (Flickr sends numbers as strings)."""
from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

PHOTO_SCHEMA = pa.schema([
    ("photo_id", pa.int64()), ("owner", pa.string()), ("secret", pa.string()), ("server", pa.string()),
    ("farm", pa.int32()), ("title", pa.string()), ("latitude", pa.float64()), ("longitude", pa.float64()),
    ("accuracy", pa.int32()), ("license", pa.int32()), ("date_upload", pa.timestamp("s")),
    ("date_taken", pa.timestamp("s")), ("owner_name", pa.string()), ("tags", pa.string()),
    ("url_z", pa.string()), ("width_z", pa.int32()), ("height_z", pa.int32()),
    ("url_c", pa.string()), ("width_c", pa.int32()), ("height_c", pa.int32()),
])


def _int(v):
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _float(v):
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _taken(v):
    try:
        return datetime.strptime(v, "%Y-%m-%d %H:%M:%S") if v else None
    except ValueError:
        return None


def page_table(photos: list[dict]) -> pa.Table:
    """Typed rows, deduplicated on photo id (a row may repeat within a page)."""
    seen, cols = set(), {f.name: [] for f in PHOTO_SCHEMA}
    for p in photos:
        pid = _int(p.get("id"))
        if pid is None or pid in seen:
            continue
        seen.add(pid)
        up = _int(p.get("dateupload"))
        row = {
            "photo_id": pid, "owner": p.get("owner"), "secret": p.get("secret"), "server": str(p.get("server") or ""),
            "farm": _int(p.get("farm")), "title": p.get("title"), "latitude": _float(p.get("latitude")),
            "longitude": _float(p.get("longitude")), "accuracy": _int(p.get("accuracy")),
            "license": _int(p.get("license")),
            "date_upload": datetime.fromtimestamp(up, UTC).replace(tzinfo=None) if up is not None else None,
            "date_taken": _taken(p.get("datetaken")), "owner_name": p.get("ownername"), "tags": p.get("tags"),
            "url_z": p.get("url_z"), "width_z": _int(p.get("width_z")), "height_z": _int(p.get("height_z")),
            "url_c": p.get("url_c"), "width_c": _int(p.get("width_c")), "height_c": _int(p.get("height_c")),
        }
        for k, v in row.items():
            cols[k].append(v)
    return pa.table(cols, schema=PHOTO_SCHEMA)
