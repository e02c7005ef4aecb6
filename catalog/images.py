"""The stored-image path contract every stage meets at: where a photo's image lives under the data home and how
to read it back, from a file or from a WebDataset tar member.

A catalog ``downloads.path`` is relative to the data home: ``images/<label id>-<class>/<photo id>.jpg`` (files
layout) or ``shards/<shard>.tar#<photo id>.jpg`` (a member of a WebDataset shard tar).
"""
from __future__ import annotations

import functools
import io
import os
import re
import tarfile
from pathlib import Path

TAR_MEMBER_SEP = "#"          # catalog path of a tar member: ``shards/<shard>.tar#<photo id>.jpg``


def class_folder(label_id: int, name: str) -> str:
    return f"{label_id:02d}-{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}"


def file_path(photo_id: int, label_id: int, class_name: str) -> str:
    """Files layout: ``images/<label id>-<class>/<photo id>.jpg``."""
    return f"images/{class_folder(label_id, class_name)}/{photo_id}.jpg"


def shard_path(shard: str) -> str:
    """WebDataset layout: the tar of one shard, ``shards/<shard>.tar``."""
    return f"shards/{shard}.tar"


def member_path(shard: str, photo_id: int) -> str:
    """WebDataset layout: the catalog path of a photo's image inside its shard tar."""
    return f"{shard_path(shard)}{TAR_MEMBER_SEP}{photo_id}.jpg"


def is_tar_member(path: str) -> bool:
    return TAR_MEMBER_SEP in path


@functools.lru_cache(maxsize=64)
def _tar_index(tar_path: str, mtime_ns: int, size: int) -> dict[str, tuple[int, int]]:
    """member name → (data offset, size); keyed on mtime and size so a rewritten tar is read again."""
    with tarfile.open(tar_path, "r:") as tar:
        return {m.name: (m.offset_data, m.size) for m in tar.getmembers() if m.isfile()}


def read_image(home: str | os.PathLike, path: str) -> bytes:
    """The stored bytes behind a catalog ``path``: a file under the home, or a member of a shard tar."""
    if not is_tar_member(path):
        return (Path(home) / path).read_bytes()
    tar_rel, member = path.split(TAR_MEMBER_SEP, 1)
    tar_path = Path(home) / tar_rel
    st = tar_path.stat()
    where = _tar_index(str(tar_path), st.st_mtime_ns, st.st_size).get(member)
    if where is None:
        raise FileNotFoundError(f"{tar_path} has no member {member!r}")
    offset, size = where
    with open(tar_path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def open_image(home: str | os.PathLike, path: str):
    """What ``PIL.Image.open`` takes for a catalog ``path``: the file's path, or the tar member's bytes."""
    if not is_tar_member(path):
        return Path(home) / path
    return io.BytesIO(read_image(home, path))
