"""The `dataset` view → a grouped, stratified test split and partitions → manifest.parquet + manifest.json, with
ATTRIBUTION.csv and DATASHEET.md beside them; the images (for licenses that allow it) copied in, with a Hugging Face
card and data files, Croissant metadata and optional WebDataset shards, every path relative to the export folder."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.errors import UserError
from catalog.licenses import license_ids, load_licenses
from pipeline.export.attribution import license_report, photo_page, write_attribution
from pipeline.export.datasheet import removed_classes, write_datasheet
from pipeline.export.layout import image_path, place, prepare
from pipeline.export.publish import publish
from pipeline.export.settings import ExportSettings
from pipeline.export.splits import GROUPING, cap_per_owner, group_ids, grouped_test_split, test_share_by_class
from training.partitions import GeographicPartitioner, create_partitioner

COLUMNS = ("d.photo_id, d.label_id, d.label, d.image_path, d.continent, d.subregion, d.country, p.owner, "
           "p.owner_name, p.license, d.source, coalesce(g.group_id, d.photo_id) AS duplicate_group")


def _read(con, s: ExportSettings) -> tuple[pa.Table, dict[str, int]]:
    """The selected rows, and the photos per license short name that the license selection left out."""
    where = ["d.image_path IS NOT NULL"] if s.require_images else []
    view = "dataset_all" if s.keep_duplicates else "dataset"
    t = con.sql(f"SELECT {COLUMNS} FROM {view} d JOIN photos p USING (photo_id) "
                f"LEFT JOIN duplicate_groups g USING (photo_id) {'WHERE ' + ' AND '.join(where) if where else ''} "
                f"ORDER BY d.photo_id, d.label_id").to_arrow_table()
    if t.num_rows == 0:
        raise UserError("the dataset view is empty" + (" of downloaded images (--no-require-images to export "
                        "metadata only)" if s.require_images else "") + ": crawl/import, download and geocode first")
    short = {x.license_id: x.short for x in load_licenses()}
    ok = np.isin(np.array(t["license"].to_pylist(), dtype=float), license_ids(s.licenses))
    out_of_selection = {p: lic for p, lic, k in zip(t["photo_id"].to_pylist(), t["license"].to_pylist(), ok) if not k}
    left_out = Counter(short.get(lic, "unknown") for lic in out_of_selection.values())      # photos, not rows
    if not ok.any():
        raise UserError(f"--licenses {s.licenses}: none of the {len(set(t['photo_id'].to_pylist()))} photos has an "
                        f"included license (they are {dict(sorted(left_out.items()))}); name more, e.g. "
                        "--licenses open,cc-by-nc, or --licenses all for a URL-only release")
    return t.filter(pa.array(ok)), dict(sorted(left_out.items()))


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
    t, left_out = _read(con, s)
    t = cap_per_owner(t, s.max_per_owner, s.seed)      # --max-per-owner, before the split
    out, home = Path(out_dir), Path(home)
    prepare(out, home)
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
    exported = assign != -2
    short = {x.license_id: x for x in load_licenses()}
    lic_short = [short[x].short if x in short else "unknown" for x in ph["license"].to_pylist()]
    report = license_report(s.licenses, s.private, _count(np.array(lic_short, object)[exported]), left_out)
    photo_path = _place_images(out, home, ph, assign, names, report["images"])
    paths = [photo_path[i] for i in where]
    m = pa.table({
        "photo_id": pa.array(t["photo_id"].to_numpy()[keep], pa.int64()),
        "label": pa.array(t["label_id"].to_numpy()[keep], pa.int32()),
        "partition": pa.array(row_part[keep], pa.int32()),
        "partition_name": pa.array(["test" if p == -1 else names[p] for p in row_part[keep]], pa.string()),
        "split": pa.array(["test" if p == -1 else "train" for p in row_part[keep]], pa.string()),
        "image_path": pa.array([x for x, k_ in zip(paths, keep) if k_], pa.string()),
        "group_id": pa.array(group[where][keep], pa.int64()),
    }).sort_by([("split", "descending"), ("partition", "ascending"), ("photo_id", "ascending"), ("label", "ascending")])
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
    summary = {
        "partitioner": s.partitioner, "level": s.level if s.partitioner == "geographic" else None,
        "num_partitions": k, "partition_names": names, "num_classes": max(class_names) + 1,
        "class_names": {str(i): n for i, n in class_names.items()}, "seed": s.seed, "test_fraction": s.test_fraction,
        "split_grouping": GROUPING, "test_share_by_class": test_share_by_class(plabel[exported], is_test[exported]),
        "licenses": report, "release": report["release"], "keep_duplicates": s.keep_duplicates,
        "max_per_owner": s.max_per_owner,
        "catalog_hash": content.hexdigest(), "label_counts": {n: dict(sorted(c.items(), key=lambda x: int(x[0])))
                                                               for n, c in sorted(counts.items())},
        "dropped": dropped, "test_size": int((m["split"].to_numpy(zero_copy_only=False) == "test").sum()),
        "rows": m.num_rows, "photo_counts": _count(np.array(["test" if a == -1 else names[a] for a in assign[exported]],
                                                            object)),
        "removed_classes": removed_classes(con, s, sorted(set(m["label"].to_pylist()))),
    }
    (out / "manifest.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    license_counts = write_attribution(out, ph.filter(pa.array(exported)))
    records = _records(t, ph, assign, names, group, photo_path, lic_short)
    publish(out, records, summary, s)
    write_datasheet(con, out, s, ph.filter(pa.array(exported)), summary, license_counts)
    return summary


def _count(values: np.ndarray) -> dict[str, int]:
    u, n = np.unique(values.astype(str), return_counts=True)
    return {str(k): int(v) for k, v in zip(u, n)}


def _place_images(out: Path, home: Path, ph: pa.Table, assign: np.ndarray, names: list[str], ship: bool) -> list:
    """Each exported photo's image under ``out/images/`` (hard link or copy) → its path relative to ``out``; None
    for a photo without an image, every photo of a URL release, and photos in no partition."""
    rel: list[str | None] = [None] * ph.num_rows
    if not ship:
        return rel
    for i, (pid, cat_path) in enumerate(zip(ph["photo_id"].to_pylist(), ph["image_path"].to_pylist())):
        if assign[i] == -2 or cat_path is None:
            continue
        split, part = ("test", "test") if assign[i] == -1 else ("train", names[assign[i]])
        rel[i] = image_path(split, part, pid, Path(cat_path.split("#")[-1]).suffix or ".jpg")
        place(home, out, cat_path, rel[i])
    return rel


def _records(t: pa.Table, ph: pa.Table, assign: np.ndarray, names: list[str], group: np.ndarray, photo_path: list,
             lic_short: list[str]) -> pa.Table:
    """One row per exported photo: what the Hugging Face files, the WebDataset shards and the card are made of."""
    pid_t = t["photo_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, pid_t[1:] != pid_t[:-1]])
    labels = [x.tolist() for x in np.split(t["label_id"].to_numpy().astype(np.int64), starts[1:])]
    urls = {x.short: x.url for x in load_licenses()}
    idx = [i for i in np.flatnonzero(assign != -2)]
    col = {c: ph[c].to_pylist() for c in ("photo_id", "label_id", "owner", "owner_name", "continent", "subregion",
                                          "country")}
    rec = pa.table({
        "photo_id": pa.array([col["photo_id"][i] for i in idx], pa.int64()),
        "label": pa.array([col["label_id"][i] for i in idx], pa.int64()),
        "labels": pa.array([labels[i] for i in idx], pa.list_(pa.int64())),
        "partition": pa.array([int(assign[i]) for i in idx], pa.int32()),
        "partition_name": pa.array(["test" if assign[i] == -1 else names[assign[i]] for i in idx], pa.string()),
        "split": pa.array(["test" if assign[i] == -1 else "train" for i in idx], pa.string()),
        "image_path": pa.array([photo_path[i] for i in idx], pa.string()),
        "photo_url": pa.array([photo_page(col["photo_id"][i], col["owner"][i]) for i in idx], pa.string()),
        "owner": pa.array([col["owner"][i] for i in idx], pa.string()),
        "owner_name": pa.array([col["owner_name"][i] for i in idx], pa.string()),
        "license": pa.array([lic_short[i] for i in idx], pa.string()),
        "license_url": pa.array([urls.get(lic_short[i], "") for i in idx], pa.string()),
        **{c: pa.array([col[c][i] for i in idx], pa.string()) for c in ("continent", "subregion", "country")},
        "group_id": pa.array(group[idx], pa.int64()),
    })
    return rec.sort_by([("split", "descending"), ("partition", "ascending"), ("photo_id", "ascending")])
