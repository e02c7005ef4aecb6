"""The export outside this project (issue 21): license-safe by default, movable, loaded by Hugging Face `datasets`
and Flower Datasets, described in Croissant, WebDataset shards per partition and split, a complete datasheet. Every
test reads a real export of a crawled, downloaded (files and WebDataset) and geocoded offline world."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tarfile

import pyarrow.parquet as pq
import pytest

from catalog import connect
from catalog.licenses import OPEN, RESTRICTED
from pipeline.export import ExportSettings, export

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")     # the Hub is unreachable here: never try it
os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.slow      # a crawl downloaded twice: ~1-2 min on 2 busy cores (test_export.py has fast ones)

SECTIONS = ["## Motivation", "## Composition", "## Collection process", "## Preprocessing, cleaning and labelling",
            "## Uses", "### Intended uses", "### Uses to avoid", "## Distribution", "## Maintenance"]


@pytest.fixture(scope="module")
def homes(served, tmp_path_factory):
    """The crawled template catalog downloaded twice (files, WebDataset shards) and geocoded: format → data home."""
    from pipeline.download import DownloadSettings, download
    from pipeline.geocode import geocode_catalog

    server, tmpl = served
    out = {}
    for fmt in ("files", "webdataset"):
        home = tmp_path_factory.mktemp(f"eco-{fmt}")
        shutil.copy(tmpl, home / "catalog.duckdb")
        con = connect(home / "catalog.duckdb")
        download(con, str(home), DownloadSettings(static_base=server.static_base, longest_side=48, processes=1,
                                                  output_format=fmt), show_progress=False)
        geocode_catalog(con)
        con.close()
        out[fmt] = home
    return out


SETTINGS = dict(partitioner="iid", num_partitions=3, test_fraction=0.2)


@pytest.fixture(scope="module")
def safe(homes, tmp_path_factory):
    """The default (license-safe) export of the files catalog, with WebDataset shards: (folder, manifest.json)."""
    out = tmp_path_factory.mktemp("safe") / "export"
    meta = export(connect(homes["files"] / "catalog.duckdb", read_only=True), out, homes["files"],
                  ExportSettings(**SETTINGS, webdataset=True))
    return out, meta


def licenses_of(home) -> dict[int, str]:
    from catalog.licenses import load_licenses

    short = {x.license_id: x.short for x in load_licenses()}
    con = connect(home / "catalog.duckdb", read_only=True)
    return {p: short[x] for p, x in con.execute("SELECT photo_id, license FROM photos").fetchall()}


def test_default_export_ships_only_redistributable_licenses(safe, homes):
    out, meta = safe
    lic = meta["licenses"]
    assert lic["requested"] == "open" and lic["release"] == "images" == meta["release"] and lic["images"]
    assert set(lic["included"]) == set(OPEN) and not set(lic["photos"]) - set(OPEN)
    assert lic["left_out"].get("arr", 0) > 0                                # the world has ARR photos: left out
    m = pq.read_table(out / "manifest.parquet").to_pandas()
    of = licenses_of(homes["files"])
    assert {of[p] for p in m.photo_id} <= set(OPEN) and m.image_path.notna().all()
    assert sum(lic["photos"].values()) == m.photo_id.nunique()
    on_disk = {p.name for p in (out / "images").rglob("*.jpg")}
    assert on_disk == {f"{p}.jpg" for p in m.photo_id}                    # only the exported photos' images
    text = (out / "DATASHEET.md").read_text()
    assert "(`--licenses open`: cc-by" in text and "All Rights Reserved photos are left out" in text
    assert f"arr {lic['left_out']['arr']}" in text


def test_arr_makes_a_url_and_attribution_release(homes, tmp_path):
    out = tmp_path / "all"
    meta = export(connect(homes["files"] / "catalog.duckdb", read_only=True), out, homes["files"],
                  ExportSettings(**SETTINGS, licenses="all", webdataset=True))
    lic = meta["licenses"]
    assert lic["release"] == "urls" and not lic["images"] and lic["photos"]["arr"] > 0 and lic["left_out"] == {}
    m = pq.read_table(out / "manifest.parquet").to_pandas()
    assert m.image_path.isna().all() and not (out / "images").exists() and not (out / "webdataset").exists()
    rows = list(csv.DictReader((out / "ATTRIBUTION.csv").open()))
    assert {int(r["photo_id"]) for r in rows} == set(m.photo_id)
    assert all(r["photo_url"].startswith("https://www.flickr.com/photos/") for r in rows)
    ds = load(out, tmp_path)
    assert "image" not in ds["train"].features and ds["train"][0]["photo_url"].startswith("https://www.flickr.com/")
    assert "URL-and-attribution release" in (out / "DATASHEET.md").read_text()
    assert "URL-and-attribution release" in (out / "README.md").read_text()
    # asked for NC too: images again, and the card says what NC means
    meta = export(connect(homes["files"] / "catalog.duckdb", read_only=True), out, homes["files"],
                  ExportSettings(**SETTINGS, licenses="open,cc-by-nc"))
    assert meta["release"] == "images" and "cc-by-nc" in meta["licenses"]["photos"]
    assert "no commercial use" in meta["licenses"]["why"] and (out / "images").is_dir()
    assert set(meta["licenses"]["photos"]) <= set(OPEN) | set(RESTRICTED)
    # --private: every license's images, ARR too, marked not for sharing
    meta = export(connect(homes["files"] / "catalog.duckdb", read_only=True), out, homes["files"],
                  ExportSettings(**SETTINGS, licenses="all", private=True))
    assert meta["release"] == "private" and meta["licenses"]["photos"]["arr"] > 0
    assert pq.read_table(out / "manifest.parquet").to_pandas().image_path.notna().all()
    assert "must not be shared" in (out / "README.md").read_text()


def load(folder, cache):
    import datasets

    return datasets.load_dataset(str(folder), cache_dir=str(cache / "hf-cache"))


def test_moved_and_zipped_export_loads_in_datasets_and_trains(safe, tmp_path):
    """Moved elsewhere (and through a zip), the export loads: HF train/test with a ClassLabel and decodable images,
    the same rows as the manifest; and the trainer's manifest loader reads it."""
    import datasets

    from training.data import load_data

    src, meta = safe
    moved = tmp_path / "elsewhere" / "flickr-mammal"
    shutil.make_archive(str(tmp_path / "export"), "zip", src)
    shutil.unpack_archive(str(tmp_path / "export.zip"), moved)
    ds = load(moved, tmp_path)
    assert set(ds) == {"train", "test"}
    label = ds["train"].features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.num_classes == meta["num_classes"]
    assert label.names == [meta["class_names"].get(str(i), f"unused_{i}") for i in range(meta["num_classes"])]
    assert isinstance(ds["train"].features["image"], datasets.Image)
    m = pq.read_table(moved / "manifest.parquet").to_pandas().drop_duplicates("photo_id")
    for split in ("train", "test"):
        assert sorted(ds[split]["photo_id"]) == sorted(m[m.split == split].photo_id)
    first = ds["test"][0]
    assert first["image"].size[0] > 0 and max(first["image"].size) <= 48               # decoded JPEG
    by_photo = m.set_index("photo_id")
    assert all(by_photo.label[r["photo_id"]] == r["label"] for r in ds["train"].select(range(20)))
    assert set(ds["test"]["partition_name"]) == {"test"} and "test" not in set(ds["train"]["partition_name"])
    data = load_data({"name": "manifest", "path": str(moved), "img_size": 16})
    assert len(data.y_train) == (m.split == "train").sum() and len(data.y_test) == (m.split == "test").sum()


def test_no_machine_path_or_local_url_anywhere_in_the_export(safe, homes):
    out, _ = safe
    needles = [str(homes["files"]), str(out), "127.0.0.1", "localhost", str(out.parent.parent)]
    for p in out.rglob("*"):
        if p.is_file() and p.suffix != ".jpg":
            data = p.read_bytes()
            if p.suffix == ".tar":                                             # the json members of the shards
                data = b"".join(m for m in _tar_members(p).values())
            assert not [n for n in needles if n.encode() in data], p
    m = pq.read_table(out / "manifest.parquet").to_pandas()
    assert not m.image_path.str.startswith("/").any() and m.image_path.str.startswith("images/").all()
    assert not [p for p in out.rglob("*") if p.is_symlink()]


def test_flower_natural_id_partitions_are_the_export_partitions_and_test_is_no_client(safe):
    from flwr_datasets import FederatedDataset
    from flwr_datasets.partitioner import NaturalIdPartitioner

    out, meta = safe
    fds = FederatedDataset(dataset=str(out), partitioners={"train": NaturalIdPartitioner(
        partition_by="partition_name")})
    part = fds.partitioners["train"]
    sizes = {}
    for i in range(meta["num_partitions"]):
        p = fds.load_partition(i, "train")
        (name,) = set(p["partition_name"])
        sizes[name] = len(p)
    assert part.num_partitions == meta["num_partitions"] and "test" not in sizes
    assert sizes == {n: meta["photo_counts"][n] for n in meta["partition_names"]}
    assert len(fds.load_split("test")) == meta["photo_counts"]["test"]


def test_croissant_metadata_validates(safe):
    import mlcroissant as mlc

    out, meta = safe
    ds = mlc.Dataset(jsonld=str(out / "metadata.json"))
    assert ds.metadata.name.startswith("Flickr-Mammal")
    rs = {r.name for r in ds.metadata.record_sets}
    assert {"classes", "photos", "images"} <= rs
    doc = json.loads((out / "metadata.json").read_text())
    classes = next(r for r in doc["recordSet"] if r["name"] == "classes")
    assert len(classes["data"]) == meta["num_classes"]
    photos = list(ds.records("photos"))                              # mlcroissant reads manifest.parquet through it
    assert len(photos) == meta["rows"] and {r["photos/split"] for r in photos} == {b"train", b"test"}


def _tar_members(path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if not m.name.endswith(".jpg")}


def test_webdataset_shards_per_partition_and_split_carry_label_owner_license(safe, homes):
    out, meta = safe
    m = pq.read_table(out / "manifest.parquet").to_pandas().drop_duplicates("photo_id").set_index("photo_id")
    of = licenses_of(homes["files"])
    seen = {}
    for tar in sorted((out / "webdataset").rglob("*.tar")):
        split = tar.parent.name
        for name, body in _tar_members(tar).items():
            if name.endswith(".json"):
                j = json.loads(body)
                row = m.loc[j["photo_id"]]
                assert (j["split"], j["partition_name"], j["label"]) == (split, row.partition_name, row.label)
                assert j["license"] == of[j["photo_id"]] and j["owner"] and j["photo_url"].endswith(str(j["photo_id"]))
                assert tar.name.startswith("test" if split == "test" else re.sub(r"[^a-z0-9]+", "_",
                                                                                 j["partition_name"].lower()))
                seen[j["photo_id"]] = j["partition_name"]
    assert set(seen) == set(m.index)
    with tarfile.open(next((out / "webdataset" / "test").glob("*.tar"))) as tar:
        names = tar.getnames()
        assert names[:3] == [names[0].split(".")[0] + e for e in (".jpg", ".cls", ".json")]   # a sample's members


def test_export_accepts_a_webdataset_catalog(homes, tmp_path):
    """`download --output-format webdataset` catalogs (image paths are shard members) export like files ones."""
    con = connect(homes["webdataset"] / "catalog.duckdb", read_only=True)
    assert con.execute("SELECT count(*) FROM downloads WHERE path LIKE 'shards/%#%'").fetchall()[0][0] > 0
    meta = export(con, tmp_path / "wds", homes["webdataset"], ExportSettings(**SETTINGS, webdataset=True))
    m = pq.read_table(tmp_path / "wds" / "manifest.parquet").to_pandas()
    assert m.image_path.str.startswith("images/").all() and meta["release"] == "images"
    from PIL import Image

    with Image.open(tmp_path / "wds" / m.image_path.iloc[0]) as im:
        im.load()
    ds = load(tmp_path / "wds", tmp_path)
    assert len(ds["train"]) == sum(v for k, v in meta["photo_counts"].items() if k != "test")
    assert ds["test"][0]["image"].size[0] > 0
    assert sum(1 for _ in (tmp_path / "wds" / "webdataset").rglob("*.tar")) >= meta["num_partitions"] + 1


def test_datasheet_is_complete_and_agrees_with_the_manifest(safe):
    out, meta = safe
    text = (out / "DATASHEET.md").read_text()
    assert [text.index(h) for h in SECTIONS] == sorted(text.index(h) for h in SECTIONS)
    assert f"{meta['num_classes']} label ids (0-{meta['num_classes'] - 1}: `manifest.json`'s `num_classes`" in text
    assert f"the catalogue names {len(meta['class_names'])} classes" in text
    m = pq.read_table(out / "manifest.parquet").to_pandas()
    for name in meta["partition_names"] + ["test"]:
        rows = m[m.partition_name == name]
        split = "test" if name == "test" else "train"
        assert f"| {name} | {split} | {rows.photo_id.nunique()} | {len(rows)} |" in text
    present = set(m.label)
    removed = {n for i, n in meta["class_names"].items() if int(i) not in present}
    assert set(meta["removed_classes"]) == removed                   # none here; the filter test names one
    assert all(f"{name} ({why})" in text for name, why in meta["removed_classes"].items())


def test_removed_classes_name_the_filter(tmp_path):
    """A class whose every photo the filter rejected is named as such in the datasheet."""
    from tests.test_export import synthetic_catalog

    path = synthetic_catalog(tmp_path / "c.duckdb")
    con = connect(path)
    con.execute("UPDATE photos SET source = 'crawl'")                  # crawled photos: the filter decides
    con.execute("INSERT INTO filter_decisions SELECT photo_id, label_id, label_id <> 3, 'clf/classifier.pth', 'w', "
                "'mass', 0.2 FROM photo_classes")
    con.close()
    con = connect(path, read_only=True)
    meta = export(con, tmp_path / "out", tmp_path, ExportSettings(partitioner="iid", num_partitions=2,
                                                                   require_images=False, licenses="all"))
    name = meta["class_names"]["3"]
    assert meta["removed_classes"][name].startswith("no photo kept after filtering (the classifier rejected all")
    text = (tmp_path / "out" / "DATASHEET.md").read_text()
    assert f"{name} (no photo kept after filtering" in text and "`classifier.pth`" in text
    assert "clf/classifier.pth" not in text


def test_card_yaml_declares_splits_features_and_classes(safe):
    import yaml

    out, meta = safe
    text = (out / "README.md").read_text()
    head = yaml.safe_load(io.StringIO(text.split("---")[1]))
    assert {c["split"] for c in head["configs"][0]["data_files"]} == {"train", "test"}
    info = head["dataset_info"]
    label = next(f for f in info["features"] if f["name"] == "label")
    assert len(label["dtype"]["class_label"]["names"]) == meta["num_classes"]
    sizes = {s["name"]: s["num_examples"] for s in info["splits"]}
    assert sizes["test"] == meta["photo_counts"]["test"]
    assert sizes["train"] == sum(v for k, v in meta["photo_counts"].items() if k != "test")
    assert "NaturalIdPartitioner" in text and "load_dataset" in text
