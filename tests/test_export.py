"""Export: a stratified test split, disjoint partitions, byte-identical manifests across runs and hash seeds."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pyarrow.parquet as pq
import pytest

from catalog import connect
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
               ExportSettings(min_size=5, test_fraction=0.2, require_images=False))
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
                f"partitioner='skew', num_partitions=4, skew=0.6, seed=3, require_images=False))")
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
    r = run_cli("export", "--catalog", catalog, "--out", tmp_path / "x", "--min-size", "100000", "--no-require-images")
    assert r.returncode == 2 and "No continent has at least 100000 rows" in r.stderr
    empty = tmp_path / "empty.duckdb"
    connect(empty).close()
    r = run_cli("export", "--catalog", empty, "--out", tmp_path / "x")
    assert r.returncode == 2 and "no geocodes" in r.stderr
