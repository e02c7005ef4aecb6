"""Turn one page of `flickr.photos.search` JSON into typed columns (Flickr sends numbers as strings)."""
from __future__ import annotations

import re
from datetime import datetime

import numpy as np
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


def _ints(values: list, typ: pa.DataType) -> pa.Array:
    """A column of integers from Flickr's strings: one Arrow cast when every value is a plain integer (or
    missing), else ``_int`` value by value (what int() takes, anything else null)."""
    try:
        a = pa.array(values)
        if pa.types.is_string(a.type) or pa.types.is_integer(a.type) or pa.types.is_null(a.type):
            return a.cast(typ)          # a safe cast: "", "1.5" or an out-of-range value raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        pass
    return pa.array([_int(v) for v in values], typ)


def _floats(values: list) -> pa.Array:
    try:
        a = pa.array(values)
        if pa.types.is_string(a.type) or pa.types.is_integer(a.type) or pa.types.is_floating(a.type) \
                or pa.types.is_null(a.type):
            return a.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        pass
    return pa.array([_float(v) for v in values], pa.float64())


def _strings(values: list) -> pa.Array:
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


_TAKEN_SHAPE = re.compile(r"\d{4}-\d\d-\d\d [01]\d:\d\d:\d\d|\d{4}-\d\d-\d\d 2[0-3]:\d\d:\d\d", re.ASCII)


def _taken_fast(v):
    """``_taken``, 10x faster for the usual 'YYYY-MM-DD HH:MM:SS' (ASCII digits, hour < 24), which
    ``datetime.fromisoformat`` reads, and refuses, exactly as strptime does."""
    if isinstance(v, str) and _TAKEN_SHAPE.fullmatch(v):
        try:
            return datetime.fromisoformat(v)
        except ValueError:
            return None
    return _taken(v)


def page_table(photos: list[dict]) -> pa.Table:
    """Typed rows, deduplicated on photo id (a row may repeat within a page; a row without an id is dropped).
    Column by column: a page's 250 rows cost a few Arrow casts, not 5,000 Python conversions."""
    ids = _ints([p.get("id") for p in photos], pa.int64())
    valid = np.flatnonzero(ids.is_valid().to_numpy(zero_copy_only=False))
    _, first = np.unique(ids.drop_null().to_numpy(), return_index=True)
    keep = valid[np.sort(first)]
    if len(keep) != len(photos):
        photos, ids = [photos[i] for i in keep], ids.take(keep)

    def col(key):
        return [p.get(key) for p in photos]

    cols = {
        "photo_id": ids, "owner": _strings(col("owner")), "secret": _strings(col("secret")),
        "server": pa.array([str(p.get("server") or "") for p in photos], pa.string()),
        "farm": _ints(col("farm"), pa.int32()), "title": _strings(col("title")),
        "latitude": _floats(col("latitude")), "longitude": _floats(col("longitude")),
        "accuracy": _ints(col("accuracy"), pa.int32()), "license": _ints(col("license"), pa.int32()),
        "date_upload": _ints(col("dateupload"), pa.int64()).cast(pa.timestamp("s")),
        "date_taken": pa.array([_taken_fast(p.get("datetaken")) for p in photos], pa.timestamp("s")),
        "owner_name": _strings(col("ownername")), "tags": _strings(col("tags")),
        "url_z": _strings(col("url_z")), "width_z": _ints(col("width_z"), pa.int32()),
        "height_z": _ints(col("height_z"), pa.int32()),
        "url_c": _strings(col("url_c")), "width_c": _ints(col("width_c"), pa.int32()),
        "height_c": _ints(col("height_c"), pa.int32()),
    }
    return pa.table(cols, schema=PHOTO_SCHEMA)
