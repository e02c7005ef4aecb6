"""Writing stored images: files by class, or one WebDataset tar per shard (the paths, and reading them back, are
``catalog.images``). Both written atomically (temporary name, then ``os.replace``), so a kill never leaves half
an image or half a shard under its final name."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
from pathlib import Path

from catalog.errors import UserError
from catalog.images import file_path, member_path, shard_path

OUTPUT_FORMATS = ("files", "webdataset")


def check_output_format(output_format: str) -> str:
    if output_format not in OUTPUT_FORMATS:
        raise UserError(f"unknown output format {output_format!r}; formats are {', '.join(OUTPUT_FORMATS)}")
    return output_format


class FilesWriter:
    """``images/<label id>-<class>/<photo id>.jpg``; a photo under several classes lives under its first."""

    def __init__(self, home: str | os.PathLike, shard: str | None = None):
        self.home = Path(home)

    def write(self, photo_id: int, label_id: int, class_name: str, data: bytes, width: int | None = None,
              height: int | None = None) -> tuple[str, str]:
        rel = file_path(photo_id, label_id, class_name)
        dst = self.home / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dst)
        return rel, hashlib.sha256(data).hexdigest()

    def close(self) -> None:
        pass


class WebDatasetWriter:
    """``shards/<shard>.tar`` with ``<photo id>.jpg``, ``.cls`` (label id) and ``.json`` per photo.

    WebDataset's conventions: the key is the photo id, the extensions are the sample's fields, a sample's members
    are adjacent. Samples are kept in memory until ``close()``, which writes the whole tar in photo id order with
    fixed mtime/uid/gid/mode to a temporary name and renames it, so the same shard always gives the same bytes. A
    shard in which no photo succeeded writes no tar.
    """

    def __init__(self, home: str | os.PathLike, shard: str):
        self.home = Path(home)
        self.shard = shard
        self._samples: dict[int, tuple[bytes, bytes, bytes]] = {}
        self._lock = threading.Lock()

    def write(self, photo_id: int, label_id: int, class_name: str, data: bytes, width: int | None = None,
              height: int | None = None) -> tuple[str, str]:
        digest = hashlib.sha256(data).hexdigest()
        meta = {"photo_id": photo_id, "class": class_name, "label": label_id, "width": width, "height": height,
                "sha256": digest}
        with self._lock:
            self._samples[photo_id] = (data, str(label_id).encode(), json.dumps(meta, sort_keys=True).encode())
        return member_path(self.shard, photo_id), digest

    def close(self) -> None:
        if not self._samples:
            return
        dst = self.home / shard_path(self.shard)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f"{dst.name}.tmp{os.getpid()}")
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
            for pid in sorted(self._samples):
                for ext, body in zip(("jpg", "cls", "json"), self._samples[pid]):
                    info = tarfile.TarInfo(f"{pid}.{ext}")
                    info.size, info.mtime, info.mode = len(body), 0, 0o644
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    tar.addfile(info, io.BytesIO(body))
        os.replace(tmp, dst)
        self._samples.clear()


WRITERS = {"files": FilesWriter, "webdataset": WebDatasetWriter}


def shard_name(shard_id: int, taken: set[str] = frozenset()) -> str:
    """The shard's tar name: its id, 5 digits at least; ``-1``, ``-2``, ... after it when a shard the catalog already
    points at has that name (a ``--retry-failed`` shard can start at a photo that failed inside a kept shard)."""
    name, k = f"{shard_id:05d}", 0
    while name in taken:
        k += 1
        name = f"{shard_id:05d}-{k}"
    return name
