"""Export: a stratified test split, disjoint partitions, byte-identical manifests across runs and hash seeds."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pyarrow.parquet as pq
import pytest

from catalog import connect
from catalog.errors import UserError
from pipeline.export import ExportSettings, export
from pipeline.geocode import geocode_catalog
from pipeline.release import import_release
from tests.conftest import PYTHON, REPO, SHARED_DATA, require_shared


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    src = require_shared(SHARED_DATA / "flickr_mammal" / "release_layout_sample")
    path = tmp_path_factory.mktemp("exp") / "c.duckdb"
    con = connect(path)
    import_release(con, src)
    geocode_catalog(con)
    con.close()
    return path


def digest(d):
    return {f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in ("manifest.parquet", "manifest.json")}


def test_every_photo_once_and_stratified_test_split(catalog, tmp_path):
    s = export(connect(catalog, read_only=True), tmp_path / "m", tmp_path,
               ExportSettings(min_size=5, test_fraction=0.2, require_images=False, licenses="all"))
    m = pq.read_table(tmp_path / "m" / "manifest.parquet").to_pandas()
    per_photo = m.groupby("photo_id")["partition"].nunique()
    assert (per_photo == 1).all()                                # a photo sits in one partition or the test split
    test = m[m.split == "test"]
    frac = test.groupby("label").photo_id.nunique() / m.groupby("label").photo_id.nunique()
    assert frac.between(0.1, 0.3).all()
    assert s["num_partitions"] == len(s["partition_names"]) and "test" in s["label_counts"]


def test_manifest_is_byte_identical_across_runs_and_hash_seeds(catalog, tmp_path):
    outs = []
    for i, hashseed in enumerate(["0", "123", "999"]):
        d = tmp_path / f"r{i}"
        code = (f"from catalog import connect; from pipeline.export import ExportSettings, export; "
                f"export(connect({str(catalog)!r}, read_only=True), {str(d)!r}, {str(tmp_path)!r}, ExportSettings("
                f"partitioner='skew', num_partitions=4, skew=0.6, seed=3, require_images=False, licenses='all'))")
        r = subprocess.run([PYTHON, "-c", code], cwd=REPO, env=dict(os.environ, PYTHONHASHSEED=hashseed),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append(digest(d))
    assert outs[0] == outs[1] == outs[2]
    meta = json.loads((tmp_path / "r0" / "manifest.json").read_text())
    assert meta["seed"] == 3 and len(meta["catalog_hash"]) == 64


def test_bad_exports_say_one_line(catalog, tmp_path):
    from tests.conftest import run_cli

    r = run_cli("export", "--catalog", catalog, "--out", tmp_path / "x", "--level", "planet", "--no-require-images")
    assert r.returncode == 2 and "unknown level 'planet'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("export", "--catalog", catalog, "--out", tmp_path / "x", "--licenses", "cc-by,by-sa")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--licenses cc-by,by-sa: unknown license 'by-sa'; licenses are arr, cc-by-nc-sa" in r.stderr
    r = run_cli("export", "--catalog", catalog, "--out", tmp_path / "x", "--min-size", "100000", "--no-require-images")
    assert r.returncode == 2 and "No continent has at least 100000 rows" in r.stderr
    empty = tmp_path / "empty.duckdb"
    connect(empty).close()
    r = run_cli("export", "--catalog", empty, "--out", tmp_path / "x")
    assert r.returncode == 2 and "no geocodes" in r.stderr


CONTINENTS = {2: "Africa", 19: "Americas", 142: "Asia", 150: "Europe", 9: "Oceania"}


def synthetic_catalog(path, n=600, seed=0):
    """Release-style photos (always kept, no images needed) with owners of very different sizes, licenses 0-10,
    secrets, continents (most owners stay in one), and near-duplicate groups that join two owners (re-uploads)."""
    import numpy as np

    from catalog import load_classes, sync_classes

    rng = np.random.default_rng(seed)
    con = connect(path)
    sync_classes(con, load_classes())
    owner = np.minimum((rng.pareto(1.0, n) * 4).astype(int), 199)      # a few prolific owners, many small ones
    home = {o: list(CONTINENTS)[o % 5] for o in range(200)}
    cont = [home[o] if rng.random() < 0.9 or o % 7 else list(CONTINENTS)[rng.integers(5)] for o in owner]
    con.executemany("INSERT INTO photos (photo_id, owner, owner_name, secret, license, source) VALUES (?, ?, ?, ?, ?,"
                    " 'release')", [[1000 + i, f"{o}@N0{o % 3}", f"Owner {o}", f"s{i:06x}ecret", int(i % 11)]
                                    for i, o in enumerate(owner)])
    con.executemany("INSERT INTO photo_classes VALUES (?, ?)",
                    [[1000 + i, int(rng.integers(6))] for i in range(n)] + [[1000 + i, 7] for i in range(0, n, 50)])
    con.executemany("INSERT INTO m49_regions VALUES (?, ?, 'continent')", list(CONTINENTS.items()))
    con.executemany("INSERT INTO geocodes (photo_id, country, continent_code, method) VALUES (?, 'XX', ?, 'test')",
                    [[1000 + i, c] for i, c in enumerate(cont)])
    groups = []                                # bursts of one owner; every fifth joins a photo of another owner
    for k in range(40):
        mine = np.flatnonzero(owner == owner[rng.integers(n)])
        g = list(rng.choice(mine, size=min(len(mine), int(rng.integers(2, 4))), replace=False))
        groups.append(np.array(g + ([int(rng.integers(n))] if k % 5 == 0 else [])) + 1000)
    rows = {}
    for g in groups:
        if len(set(g.tolist())) > 1 and not any(int(p) in rows for p in g):
            rows |= {int(p): [int(p), int(g.min()), bool(p == g.min()), len(g), 2, 6, "test"] for p in g}
    con.executemany("INSERT INTO duplicate_groups (photo_id, group_id, is_representative, group_size, distance, "
                    "threshold, method) VALUES (?, ?, ?, ?, ?, ?, ?)", list(rows.values()))
    con.close()
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return synthetic_catalog(tmp_path_factory.mktemp("syn") / "s.duckdb")


def test_no_owner_or_duplicate_group_crosses_train_test(synthetic, tmp_path):
    con = connect(synthetic, read_only=True)
    s = ExportSettings(partitioner="iid", num_partitions=3, test_fraction=0.2, require_images=False,
                       keep_duplicates=True, seed=5, licenses="all")
    meta = export(con, tmp_path / "a", tmp_path, s)
    m = pq.read_table(tmp_path / "a" / "manifest.parquet").to_pandas()
    own = dict(con.execute("SELECT photo_id, owner FROM photos").fetchall())
    dup = dict(con.execute("SELECT photo_id, group_id FROM duplicate_groups").fetchall())
    m["owner"], m["dup"] = m.photo_id.map(own), m.photo_id.map(lambda p: dup.get(p, p))
    assert m.groupby("owner").split.nunique().max() == 1
    assert m.groupby("dup").split.nunique().max() == 1
    assert m.groupby("group_id").split.nunique().max() == 1 and m.groupby("owner").group_id.nunique().max() == 1
    assert len(m[m.dup.duplicated(keep=False)]) > 20                      # near-copies are exported and grouped
    assert meta["split_grouping"] == "owner+duplicate"
    photos = m.drop_duplicates("photo_id")
    share = photos.groupby("label").apply(lambda g: (g.split == "test").mean())
    assert share.between(0.1, 0.3).all(), share                            # stratified as closely as groups allow
    assert meta["test_share_by_class"] == {str(k): round(v, 4) for k, v in share.items()}
    again = export(con, tmp_path / "b", tmp_path, s)
    other = export(con, tmp_path / "c", tmp_path, ExportSettings(**{**s.__dict__, "seed": 6}))
    assert digest(tmp_path / "a") == digest(tmp_path / "b") and again["test_size"] == meta["test_size"]
    test_of = {d: set(pq.read_table(tmp_path / d / "manifest.parquet").to_pandas().query("split == 'test'").photo_id)
               for d in ("a", "c")}
    assert test_of["a"] != test_of["c"] and other["split_grouping"] == "owner+duplicate"


def test_geographic_partitions_keep_an_owner_together(synthetic, tmp_path):
    con = connect(synthetic, read_only=True)
    export(con, tmp_path / "out", tmp_path, ExportSettings(min_size=5, require_images=False, licenses="all"))
    m = pq.read_table(tmp_path / "out" / "manifest.parquet").to_pandas()
    own = dict(con.execute("SELECT photo_id, owner FROM photos").fetchall())
    cont = dict(con.execute("SELECT photo_id, continent_code FROM geocodes").fetchall())
    train = m[m.split == "train"].assign(owner=lambda d: d.photo_id.map(own), cont=lambda d: d.photo_id.map(cont))
    one_region = train.groupby("owner").cont.nunique() == 1
    assert one_region.sum() > 10 and (~one_region).sum() > 0               # both kinds of owner are there
    parts = train.groupby("owner").partition.nunique()
    assert (parts[one_region] == 1).all()
    assert (parts[~one_region] > 1).any()                                  # a travelling owner is split by region


def test_licenses_keep_exactly_the_named_ones_and_attribution_credits_every_photo(synthetic, tmp_path):
    import csv

    con = connect(synthetic, read_only=True)
    out = tmp_path / "out"
    export(con, out, tmp_path, ExportSettings(partitioner="iid", num_partitions=2, require_images=False,
                                              licenses="cc-by,cc-by-sa,cc0,pdm"))
    m = pq.read_table(out / "manifest.parquet").to_pandas()
    lic = dict(con.execute("SELECT photo_id, license FROM photos JOIN (SELECT DISTINCT photo_id FROM dataset) "
                           "USING (photo_id)").fetchall())
    assert set(m.photo_id) == {p for p, v in lic.items() if v in (4, 5, 9, 10)} and len(m) > 100
    rows = list(csv.DictReader((out / "ATTRIBUTION.csv").open()))
    assert sorted(int(r["photo_id"]) for r in rows) == sorted(set(m.photo_id))        # every photo exactly once
    r = next(r for r in rows if r["license_id"] == "4")
    assert r["license"] == "CC BY 2.0" and r["license_url"] == "https://creativecommons.org/licenses/by/2.0/"
    assert r["photo_url"] == f"https://www.flickr.com/photos/{r['owner']}/{r['photo_id']}" and r["owner_name"]
    secrets = [s for (s,) in con.execute("SELECT secret FROM photos").fetchall()]
    text = "".join(p.read_bytes().decode("latin-1") for p in out.rglob("*") if p.is_file())
    assert not [s for s in secrets if s in text]                                      # secrets never in exports
    with pytest.raises(UserError, match=r"unknown license 'cc-by-4'; licenses are arr, cc-by-nc-sa, .*, cc0, pdm or "
                                        r"the groups open, all$"):
        ExportSettings(licenses="cc-by,cc-by-4")


def test_photo_geography_counts_equal_a_hand_written_join(catalog):
    con = connect(catalog, read_only=True)
    view = con.execute("SELECT label, continent, subregion, country, count(*) FROM photo_geography "
                       "GROUP BY ALL ORDER BY ALL").fetchall()
    hand = con.execute("""
        SELECT c.name, ct.name, sr.name, g.country, count(*)
        FROM photo_classes pc JOIN classes c ON c.label_id = pc.label_id JOIN geocodes g ON g.photo_id = pc.photo_id
        LEFT JOIN m49_regions ct ON ct.code = g.continent_code LEFT JOIN m49_regions sr ON sr.code = g.subregion_code
        GROUP BY ALL ORDER BY ALL""").fetchall()
    assert view == hand
    assert sum(r[4] for r in view) == con.execute("SELECT count(*) FROM photo_classes").fetchall()[0][0]
    by_continent = con.execute("SELECT continent, count(*) FROM photo_geography WHERE label = 'Kangaroo' "
                               "GROUP BY ALL ORDER BY 2 DESC").fetchall()
    assert by_continent[0][0] == "Oceania"


def test_license_safe_default_and_hf_layout_without_images(synthetic, tmp_path):
    """Fast tier: the default keeps only the open licenses and says so; `--licenses all` (ARR in) is a URL release;
    either loads in `datasets` as train/test with a ClassLabel, and Flower finds the partitions (test no client)."""
    import datasets
    from flwr_datasets import FederatedDataset
    from flwr_datasets.partitioner import NaturalIdPartitioner

    from catalog.licenses import OPEN

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    con = connect(synthetic, read_only=True)
    s = dict(partitioner="iid", num_partitions=3, require_images=False)
    meta = export(con, tmp_path / "safe", tmp_path, ExportSettings(**s))
    lic = meta["licenses"]
    assert lic["requested"] == "open" and set(lic["photos"]) <= set(OPEN) and lic["left_out"]["arr"] > 0
    assert lic["release"] == "images" and "All Rights Reserved photos are left out" in lic["why"]
    m = pq.read_table(tmp_path / "safe" / "manifest.parquet").to_pandas()
    assert m.photo_id.nunique() == sum(lic["photos"].values())
    everything = export(con, tmp_path / "all", tmp_path, ExportSettings(**s, licenses="all"))
    assert everything["release"] == "urls" and everything["licenses"]["left_out"] == {}
    assert sum(everything["licenses"]["photos"].values()) == con.execute(
        "SELECT count(DISTINCT photo_id) FROM dataset").fetchall()[0][0]
    ds = datasets.load_dataset(str(tmp_path / "all"), cache_dir=str(tmp_path / "hf"))
    assert set(ds) == {"train", "test"} and isinstance(ds["train"].features["label"], datasets.ClassLabel)
    assert len(ds["test"]) == everything["photo_counts"]["test"]
    fds = FederatedDataset(dataset=str(tmp_path / "all"),
                           partitioners={"train": NaturalIdPartitioner(partition_by="partition_name")})
    assert sorted(len(fds.load_partition(i, "train")) for i in range(3)) == sorted(
        everything["photo_counts"][n] for n in everything["partition_names"])
    with pytest.raises(UserError, match="is the data home"):
        export(con, tmp_path, tmp_path, ExportSettings(**s))
    from training.data import load_data

    with pytest.raises(UserError, match=r"no image paths \(a URL-and-attribution export\); to train here"):
        load_data({"name": "manifest", "path": str(tmp_path / "all"), "img_size": 8})
