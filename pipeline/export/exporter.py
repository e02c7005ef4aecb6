"""The `dataset` view → a stratified test split and partitions → manifest.parquet + manifest.json."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.errors import UserError
from catalog.images import is_tar_member
from pipeline.export.settings import ExportSettings
from training.partitions import GeographicPartitioner, create_partitioner

COLUMNS = "photo_id, label_id, label, image_path, continent, subregion, country"


def _read(con, require_images: bool) -> pa.Table:
    where = "WHERE image_path IS NOT NULL" if require_images else ""
    t = con.sql(f"SELECT {COLUMNS} FROM dataset {where} ORDER BY photo_id, label_id").to_arrow_table()
    if t.num_rows == 0:
        raise UserError("the dataset view is empty" + (" of downloaded images (--no-require-images to export "
                        "metadata only)" if require_images else "") + ": crawl/import, download and geocode first")
    in_tars = [p for p in t["image_path"].to_pylist() if p and is_tar_member(p)]
    if in_tars:     # training/data.py opens image_path as a file
        raise UserError(f"{len(in_tars)} of the dataset's images are WebDataset tar members (e.g. {in_tars[0]}); "
                        "export and train need the files layout: download with --output-format files")
    return t


def _photo_table(t: pa.Table) -> tuple[np.ndarray, np.ndarray, dict]:
    """One row per photo (its smallest label stands for it), so a multi-class photo never straddles partitions."""
    pid = t["photo_id"].to_numpy()
    lab = t["label_id"].to_numpy()
    first = np.r_[True, pid[1:] != pid[:-1]]              # rows are sorted by (photo_id, label_id)
    geo = {c: np.array(t[c].to_pylist(), dtype=object)[first] for c in ("continent", "subregion", "country")}
    return pid[first], lab[first], geo


def _test_split(labels: np.ndarray, fraction: float, rng) -> np.ndarray:
    """Stratified by label: round(fraction * n_c) photos of every class go to the test split."""
    test = np.zeros(len(labels), dtype=bool)
    for c in sorted(np.unique(labels).tolist()):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[: int(round(fraction * len(idx)))]] = True
    return test


def export(con, out_dir: str | Path, home: str | Path, settings: ExportSettings | None = None) -> dict:
    """The export stage, with or without Prefect: ``<out_dir>/manifest.parquet`` and ``manifest.json``."""
    s = settings or ExportSettings()
    partitioner, level, min_size, test_fraction, seed = s.partitioner, s.level, s.min_size, s.test_fraction, s.seed
    num_partitions, skew, alpha, require_images = s.num_partitions, s.skew, s.alpha, s.require_images
    if partitioner == "geographic" and not con.execute("SELECT count(*) FROM geocodes").fetchall()[0][0]:
        raise UserError("the catalog has no geocodes: run `flickr-mammal geocode` before a geographic export")
    t = _read(con, require_images)
    photo, plabel, geo = _photo_table(t)
    rng = np.random.default_rng(seed)
    is_test = _test_split(plabel, test_fraction, rng)
    train = np.flatnonzero(~is_test)
    table = pa.table({"label": plabel[train]} | {k: pa.array(v[train].tolist(), pa.string()) for k, v in geo.items()})
    try:
        if partitioner == "geographic":
            part = GeographicPartitioner(level=level, min_partition_size=min_size)
        else:
            if not num_partitions:
                raise UserError(f"--num-partitions is required for the {partitioner} partitioner")
            part = create_partitioner(partitioner, num_partitions=num_partitions, skew=skew, alpha=alpha, seed=seed)
        part.dataset = table
        k = part.num_partitions
        assign = np.full(len(photo), -2, dtype=np.int64)   # -2: train photo in no partition (dropped)
        for p in range(k):
            assign[train[part.load_partition(p)]] = p
    except ValueError as e:
        raise UserError(str(e)) from None
    assign[is_test] = -1
    names = part.partition_names if isinstance(part, GeographicPartitioner) else [f"p{p}" for p in range(k)]
    dropped = part.dropped if isinstance(part, GeographicPartitioner) else {}
    empty = [names[p] for p in range(k) if not (assign == p).any()]
    if empty:
        raise UserError(f"partitions {empty} are empty: use fewer partitions or a lower --min-size")

    # back to rows: every (photo, label) row follows its photo
    pid_rows = t["photo_id"].to_numpy()
    where = np.searchsorted(photo, pid_rows)
    row_part = assign[where]
    keep = row_part != -2
    home = Path(home).resolve()
    paths = [None if p is None else str(home / p) for p in t["image_path"].to_pylist()]
    m = pa.table({
        "photo_id": pa.array(pid_rows[keep], pa.int64()),
        "label": pa.array(t["label_id"].to_numpy()[keep], pa.int32()),
        "partition": pa.array(row_part[keep], pa.int32()),
        "partition_name": pa.array(["test" if p == -1 else names[p] for p in row_part[keep]], pa.string()),
        "split": pa.array(["test" if p == -1 else "train" for p in row_part[keep]], pa.string()),
        "image_path": pa.array([x for x, k_ in zip(paths, keep) if k_], pa.string()),
    }).sort_by([("split", "descending"), ("partition", "ascending"), ("photo_id", "ascending"), ("label", "ascending")])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(m, out / "manifest.parquet", compression="zstd", write_statistics=False)
    content = hashlib.sha256()
    for col in ("photo_id", "label_id"):
        content.update(t[col].to_numpy().tobytes())
    content.update("\n".join(map(str, t["image_path"].to_pylist())).encode())
    for col in ("continent", "subregion", "country"):
        content.update("\n".join(map(str, t[col].to_pylist())).encode())
    class_names = dict(con.execute("SELECT label_id, name FROM classes ORDER BY label_id").fetchall())
    counts: dict[str, dict[str, int]] = {}
    for name, lab in zip(m["partition_name"].to_pylist(), m["label"].to_pylist()):
        counts.setdefault(name, {}).setdefault(str(lab), 0)
        counts[name][str(lab)] += 1
    summary = {
        "partitioner": partitioner, "level": level if partitioner == "geographic" else None,
        "num_partitions": k, "partition_names": names, "num_classes": max(class_names) + 1,
        "class_names": {str(i): n for i, n in class_names.items()}, "seed": seed, "test_fraction": test_fraction,
        "catalog_hash": content.hexdigest(), "label_counts": {n: dict(sorted(c.items(), key=lambda x: int(x[0])))
                                                               for n, c in sorted(counts.items())},
        "dropped": dropped, "test_size": int((m["split"].to_numpy(zero_copy_only=False) == "test").sum()),
        "rows": m.num_rows,
    }
    (out / "manifest.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
