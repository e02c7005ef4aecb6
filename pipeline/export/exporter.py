"""The `dataset` view → a grouped, stratified test split and partitions → manifest.parquet + manifest.json, with
ATTRIBUTION.csv and DATASHEET.md beside them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.errors import UserError
from catalog.images import is_tar_member
from catalog.licenses import license_ids
from pipeline.export.attribution import write_attribution
from pipeline.export.datasheet import write_datasheet
from pipeline.export.settings import ExportSettings
from pipeline.export.splits import GROUPING, group_ids, grouped_test_split, test_share_by_class
from training.partitions import GeographicPartitioner, create_partitioner

COLUMNS = ("d.photo_id, d.label_id, d.label, d.image_path, d.continent, d.subregion, d.country, p.owner, "
           "p.owner_name, p.license, d.source, coalesce(g.group_id, d.photo_id) AS duplicate_group")


def _read(con, s: ExportSettings) -> pa.Table:
    where = ["d.image_path IS NOT NULL"] if s.require_images else []
    if s.licenses is not None:
        where.append(f"list_contains({license_ids(s.licenses)}, p.license)")
    view = "dataset_all" if s.keep_duplicates else "dataset"
    t = con.sql(f"SELECT {COLUMNS} FROM {view} d JOIN photos p USING (photo_id) "
                f"LEFT JOIN duplicate_groups g USING (photo_id) {'WHERE ' + ' AND '.join(where) if where else ''} "
                f"ORDER BY d.photo_id, d.label_id").to_arrow_table()
    if t.num_rows == 0:
        raise UserError("the dataset view is empty" + (" of downloaded images (--no-require-images to export "
                        "metadata only)" if s.require_images else "") + (f" under --licenses {s.licenses}"
                        if s.licenses else "") + ": crawl/import, download and geocode first")
    in_tars = [p for p in t["image_path"].to_pylist() if p and is_tar_member(p)]
    if in_tars:     # training/data.py opens image_path as a file
        raise UserError(f"{len(in_tars)} of the dataset's images are WebDataset tar members (e.g. {in_tars[0]}); "
                        "export and train need the files layout: download with --output-format files")
    return t


def _photo_table(t: pa.Table) -> pa.Table:
    """One row per photo (its smallest label stands for it), so a multi-class photo never straddles partitions."""
    pid = t["photo_id"].to_numpy()
    first = np.r_[True, pid[1:] != pid[:-1]]              # rows are sorted by (photo_id, label_id)
    return t.filter(pa.array(first))


def _partition(s: ExportSettings, train: pa.Table):
    try:
        if s.partitioner == "geographic":
            part = GeographicPartitioner(level=s.level, min_partition_size=s.min_size)
        else:
            if not s.num_partitions:
                raise UserError(f"--num-partitions is required for the {s.partitioner} partitioner")
            part = create_partitioner(s.partitioner, num_partitions=s.num_partitions, skew=s.skew, alpha=s.alpha,
                                      seed=s.seed)
        part.dataset = train
        return part, [part.load_partition(p) for p in range(part.num_partitions)]
    except ValueError as e:
        raise UserError(str(e)) from None


def export(con, out_dir: str | Path, home: str | Path, settings: ExportSettings | None = None) -> dict:
    """The export stage, with or without Prefect: ``<out_dir>/manifest.parquet``, ``manifest.json``,
    ``ATTRIBUTION.csv``, ``DATASHEET.md`` and its heatmap."""
    s = settings or ExportSettings()
    if s.partitioner == "geographic" and not con.execute("SELECT count(*) FROM geocodes").fetchall()[0][0]:
        raise UserError("the catalog has no geocodes: run `flickr-mammal geocode` before a geographic export")
    t = _read(con, s)
    ph = _photo_table(t)
    photo, plabel = ph["photo_id"].to_numpy(), ph["label_id"].to_numpy()
    owner = np.array([o if o is not None else f"photo:{p}" for o, p in zip(ph["owner"].to_pylist(), photo)], object)
    group = group_ids(photo, owner, ph["duplicate_group"].to_numpy())
    is_test = grouped_test_split(plabel, group, s.test_fraction, s.seed)
    train = np.flatnonzero(~is_test)
    table = pa.table({"label": plabel[train]} | {k: ph[k].take(pa.array(train)) for k in
                                                  ("continent", "subregion", "country")})
    part, members = _partition(s, table)
    k = part.num_partitions
    assign = np.full(len(photo), -2, dtype=np.int64)   # -2: train photo in no partition (dropped)
    for p, idx in enumerate(members):
        assign[train[idx]] = p
    assign[is_test] = -1
    names = part.partition_names if isinstance(part, GeographicPartitioner) else [f"p{p}" for p in range(k)]
    dropped = part.dropped if isinstance(part, GeographicPartitioner) else {}
    empty = [names[p] for p in range(k) if not (assign == p).any()]
    if empty:
        raise UserError(f"partitions {empty} are empty: use fewer partitions or a lower --min-size")

    # back to rows: every (photo, label) row follows its photo
    where = np.searchsorted(photo, t["photo_id"].to_numpy())
    row_part = assign[where]
    keep = row_part != -2
    home = Path(home).resolve()
    paths = [None if p is None else str(home / p) for p in t["image_path"].to_pylist()]
    m = pa.table({
        "photo_id": pa.array(t["photo_id"].to_numpy()[keep], pa.int64()),
        "label": pa.array(t["label_id"].to_numpy()[keep], pa.int32()),
        "partition": pa.array(row_part[keep], pa.int32()),
        "partition_name": pa.array(["test" if p == -1 else names[p] for p in row_part[keep]], pa.string()),
        "split": pa.array(["test" if p == -1 else "train" for p in row_part[keep]], pa.string()),
        "image_path": pa.array([x for x, k_ in zip(paths, keep) if k_], pa.string()),
        "group_id": pa.array(group[where][keep], pa.int64()),
    }).sort_by([("split", "descending"), ("partition", "ascending"), ("photo_id", "ascending"), ("label", "ascending")])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(m, out / "manifest.parquet", compression="zstd", write_statistics=False)
    content = hashlib.sha256()
    for col in ("photo_id", "label_id"):
        content.update(t[col].to_numpy().tobytes())
    for col in ("image_path", "continent", "subregion", "country", "owner", "license"):
        content.update("\n".join(map(str, t[col].to_pylist())).encode())
    class_names = dict(con.execute("SELECT label_id, name FROM classes ORDER BY label_id").fetchall())
    counts: dict[str, dict[str, int]] = {}
    for name, lab in zip(m["partition_name"].to_pylist(), m["label"].to_pylist()):
        counts.setdefault(name, {}).setdefault(str(lab), 0)
        counts[name][str(lab)] += 1
    exported = assign != -2
    summary = {
        "partitioner": s.partitioner, "level": s.level if s.partitioner == "geographic" else None,
        "num_partitions": k, "partition_names": names, "num_classes": max(class_names) + 1,
        "class_names": {str(i): n for i, n in class_names.items()}, "seed": s.seed, "test_fraction": s.test_fraction,
        "split_grouping": GROUPING, "test_share_by_class": test_share_by_class(plabel[exported], is_test[exported]),
        "licenses": s.licenses, "keep_duplicates": s.keep_duplicates,
        "catalog_hash": content.hexdigest(), "label_counts": {n: dict(sorted(c.items(), key=lambda x: int(x[0])))
                                                               for n, c in sorted(counts.items())},
        "dropped": dropped, "test_size": int((m["split"].to_numpy(zero_copy_only=False) == "test").sum()),
        "rows": m.num_rows,
    }
    (out / "manifest.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    license_counts = write_attribution(out, ph.filter(pa.array(exported)))
    write_datasheet(con, out, s, ph.filter(pa.array(exported)), summary, license_counts)
    return summary
