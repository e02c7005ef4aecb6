"""Where an export puts its images: ``images/<split>/<partition>/<photo id>.jpg`` (``images/test/<photo id>.jpg``),
paths relative to the export folder, so the folder can be moved, zipped or uploaded and still load.

Images are hard links to the data home's files where the file system allows (no extra space; a download rewrites a
file by ``os.replace``, so the export's link keeps the old bytes), copies otherwise; WebDataset members of the
catalog are extracted. Never a symlink: it would point back at this machine."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from catalog.errors import UserError
from catalog.images import is_tar_member, read_image

OWNED = ("images", "data", "webdataset")       # folders an export writes and a rerun replaces


def slug(name: str) -> str:
    """A partition name as a folder name: ``Northern America`` → ``northern_america``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "none"


def image_path(split: str, partition_name: str, photo_id: int, suffix: str = ".jpg") -> str:
    """The photo's path relative to the export folder."""
    return (f"images/test/{photo_id}{suffix}" if split == "test"
            else f"images/train/{slug(partition_name)}/{photo_id}{suffix}")


def prepare(out: Path, home: Path) -> None:
    """Refuses an export into the data home (its ``images/`` is the download's); clears what an earlier export wrote
    here, so a rerun leaves no photo of the previous selection behind."""
    if out.resolve() == home.resolve():
        raise UserError(f"--out {out}: is the data home, whose images/ holds the downloads; export into a folder of "
                        "its own (e.g. HOME/export/NAME)")
    if (out / "manifest.json").exists():
        for name in OWNED:
            shutil.rmtree(out / name, ignore_errors=True)


def place(home: Path, out: Path, catalog_path: str, rel: str) -> None:
    """The catalog's image (a file or a shard member) at ``out/rel``: a hard link, else a copy."""
    dst = out / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        if is_tar_member(catalog_path):
            dst.write_bytes(read_image(home, catalog_path))
            return
        src = home / catalog_path
        try:
            os.link(src, dst)
        except OSError:
            if not src.is_file():
                raise
            shutil.copyfile(src, dst)
    except FileNotFoundError:
        raise UserError(f"{home / catalog_path}: image in the catalog but not on disk; rerun `flickr-mammal download`"
                        " (or pass --home, the folder the catalog's image paths are relative to)") from None
