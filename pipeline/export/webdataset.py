"""``webdataset/<split>/<partition>-NNNNN.tar``: the export's images as WebDataset shards, one series per partition
and split, so a client of a federated run streams only its own shards. Each sample is ``<photo id>.jpg``,
``<photo id>.cls`` (label id) and ``<photo id>.json`` (label, class, partition, split, owner, license, page URL,
region). Tars are written in photo id order with fixed mtime/owner/mode, so a rerun gives the same bytes."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa

from pipeline.export.layout import slug

SAMPLES_PER_SHARD = 1000
JSON_KEYS = ("photo_id", "label", "class", "labels", "partition", "partition_name", "split", "owner", "owner_name",
             "license", "license_url", "photo_url", "continent", "subregion", "country", "group_id")


def _add(tar: tarfile.TarFile, name: str, body: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = len(body), 0, 0o644, 0, 0, "", ""
    tar.addfile(info, io.BytesIO(body))


def write_shards(out: Path, photos: pa.Table, names: list[str]) -> dict[str, list[str]]:
    """``photos``: one row per exported photo with ``image_path`` relative to ``out``. Returns split → shard paths."""
    rows = sorted(photos.to_pylist(), key=lambda r: (r["split"], r["partition"], r["photo_id"]))
    series: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        series.setdefault((r["split"], "test" if r["split"] == "test" else slug(r["partition_name"])), []).append(r)
    written: dict[str, list[str]] = {}
    for (split, part), members in series.items():
        for k in range(0, len(members), SAMPLES_PER_SHARD):
            rel = f"webdataset/{split}/{part}-{k // SAMPLES_PER_SHARD:05d}.tar"
            dst = out / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT) as tar:
                for r in members[k:k + SAMPLES_PER_SHARD]:
                    meta = {key: r.get(key) for key in JSON_KEYS} | {"class": names[r["label"]]}
                    pid = r["photo_id"]
                    _add(tar, f"{pid}.jpg", (out / r["image_path"]).read_bytes())
                    _add(tar, f"{pid}.cls", str(r["label"]).encode())
                    _add(tar, f"{pid}.json", json.dumps(meta, sort_keys=True, ensure_ascii=False).encode())
            written.setdefault(split, []).append(rel)
    return written
