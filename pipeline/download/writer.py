"""Files by class under the data home, written atomically so a kill never leaves half an image."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


def class_folder(label_id: int, name: str) -> str:
    return f"{label_id:02d}-{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}"


class FilesWriter:
    """``images/<label id>-<class>/<photo id>.jpg``; a photo under several classes lives under its first."""

    def __init__(self, home: str | os.PathLike):
        self.home = Path(home)

    def write(self, photo_id: int, label_id: int, class_name: str, data: bytes) -> tuple[str, str]:
        rel = Path("images") / class_folder(label_id, class_name) / f"{photo_id}.jpg"
        dst = self.home / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dst)
        return rel.as_posix(), hashlib.sha256(data).hexdigest()
