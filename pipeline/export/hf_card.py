"""The export as a Hugging Face dataset: `datasets.load_dataset(EXPORT_DIR)` gives the `train` and `test` splits with
`label` a ClassLabel of the catalogue's names and `image` an Image, and Flower Datasets'
`NaturalIdPartitioner(partition_by="partition_name")` finds the clients in `train` (the test split is no client).

Layout: an image release is an imagefolder with one ``metadata.parquet`` per split (``images/<split>/``, its
``file_name`` relative to that folder, so the export moves as one); a URL release has ``data/<split>.parquet``.
The features travel in each parquet file's ``huggingface`` schema metadata (what `datasets` itself writes), so
ClassLabel survives without `datasets` being installed here; README.md carries the card and its YAML block."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SPLITS = ("train", "test")
STRING = ("partition_name", "owner", "owner_name", "license", "license_url", "photo_url", "continent", "subregion",
          "country")
INT = {"photo_id": "int64", "partition": "int32", "group_id": "int64"}


def class_label_names(class_names: dict[int, str], num_classes: int) -> list[str]:
    """Every label id 0..num_classes-1 named (a gap in the catalogue keeps its id, named ``unused_<id>``)."""
    return [class_names.get(i, f"unused_{i}") for i in range(num_classes)]


def _features(names: list[str], with_image: bool) -> dict:
    label = {"names": names, "_type": "ClassLabel"}
    f = {"file_name": {"dtype": "string", "_type": "Value"}} if with_image else {}
    f |= {"photo_id": {"dtype": "int64", "_type": "Value"}, "label": label,
          "labels": {"feature": label, "_type": "Sequence"}}     # Sequence: read by datasets 3 and 4 alike
    f |= {k: {"dtype": INT[k], "_type": "Value"} for k in ("partition", "group_id")}
    return f | {k: {"dtype": "string", "_type": "Value"} for k in STRING}


def _columns(photos: pa.Table, split: str, with_image: bool) -> pa.Table:
    t = photos.filter(pc.equal(photos["split"], split))
    cols = {}
    if with_image:
        prefix = f"images/{split}/"
        cols["file_name"] = pa.array([p[len(prefix):] for p in t["image_path"].to_pylist()], pa.string())
    cols |= {"photo_id": t["photo_id"].cast(pa.int64()), "label": t["label"].cast(pa.int64()),
             "labels": t["labels"].cast(pa.list_(pa.int64())), "partition": t["partition"].cast(pa.int32()),
             "group_id": t["group_id"].cast(pa.int64())}
    return pa.table(cols | {k: t[k].cast(pa.string()) for k in STRING})


def write_hf_data(out: Path, photos: pa.Table, names: list[str], with_image: bool) -> dict[str, str]:
    """One parquet file per split with the HF features in its schema metadata; returns split → data_files pattern."""
    meta = {b"huggingface": json.dumps({"info": {"features": _features(names, with_image)}}).encode()}
    files = {}
    for split in SPLITS:
        t = _columns(photos, split, with_image)
        t = t.replace_schema_metadata(meta)
        if with_image:
            path, files[split] = out / "images" / split / "metadata.parquet", f"images/{split}/**"
        else:
            path = out / "data" / f"{split}.parquet"
            files[split] = f"data/{split}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, path, compression="zstd", write_statistics=False)
    return files


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)          # a JSON string is a YAML double-quoted scalar


def _yaml(names: list[str], files: dict[str, str], with_image: bool, split_sizes: dict[str, int], title: str) -> str:
    lines = ["---", "license: other", "license_name: per-photo-flickr-licenses",
             "license_link: ATTRIBUTION.csv", f"pretty_name: {_q(title)}", "task_categories:",
             "- image-classification", "tags:", "- federated-learning", "- non-iid", "- geotagged", "- flickr",
             "configs:", "- config_name: default", "  data_files:"]
    for split in SPLITS:
        lines += [f"  - split: {split}", f"    path: {_q(files[split])}"]
    lines += ["dataset_info:", "  features:"]
    if with_image:
        lines += ["  - name: image", "    dtype: image"]
    lines += ["  - name: photo_id", "    dtype: int64", "  - name: label", "    dtype:", "      class_label:",
              "        names:"]
    lines += [f"          '{i}': {_q(n)}" for i, n in enumerate(names)]
    lines += ["  - name: labels", "    sequence:", "      class_label:", "        names:"]
    lines += [f"          '{i}': {_q(n)}" for i, n in enumerate(names)]
    lines += ["  - name: partition", "    dtype: int32", "  - name: group_id", "    dtype: int64"]
    for k in STRING:
        lines += [f"  - name: {k}", "    dtype: string"]
    lines += ["  splits:"]
    for split in SPLITS:
        lines += [f"  - name: {split}", f"    num_examples: {split_sizes.get(split, 0)}"]
    return "\n".join(lines + ["---", ""])


def write_card(out: Path, photos: pa.Table, names: list[str], files: dict[str, str], with_image: bool,
               summary: dict, body: str) -> Path:
    """README.md: the HF metadata block (configs, features, split sizes), then ``body`` (the card's prose)."""
    splits = photos["split"].to_pylist()
    sizes = {s: splits.count(s) for s in SPLITS}
    title = f"Flickr-Mammal ({summary['partitioner']}{', ' + summary['level'] if summary['level'] else ''})"
    path = out / "README.md"
    path.write_text(_yaml(names, files, with_image, sizes, title) + body)
    return path
