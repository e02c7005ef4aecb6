"""Dask scale-out: shards run on a real process cluster through the Prefect flow, the catalog matches a local run."""
from __future__ import annotations

import shutil

import duckdb
import pytest

from catalog import connect
from pipeline.download import DownloadSettings, download
from tests.test_download import files, fresh, rows, tars

# ``served`` and ``downloaded`` are session fixtures in tests/conftest.py, shared with test_download and test_filter


@pytest.mark.heavy
@pytest.mark.parametrize("output_format", ["files", "webdataset"])
def test_download_flow_on_a_local_cluster_matches_the_local_run(served, tmp_path, prefect_harness,
                                                                 output_format):
    from distributed import LocalCluster

    from flows.download import download_flow

    server, tmpl = served
    settings = DownloadSettings(static_base=server.static_base, shard_size=64, output_format=output_format)
    local = fresh(tmpl, tmp_path / "local")
    download(connect(local), str(local.parent), settings, show_progress=False)       # worker processes here
    dist = fresh(tmpl, tmp_path / "dask")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        out = download_flow(str(dist), str(dist.parent), settings, dask_address=cluster.scheduler_address)
    assert out["shards"] > 1
    assert rows(dist) == rows(local) and len(rows(local)) > 0
    assert files(dist.parent) == files(local.parent)
    assert tars(dist.parent) == tars(local.parent)
    assert len(tars(local.parent)) == (out["shards"] if output_format == "webdataset" else 0)


def filter_tables(path) -> tuple[list, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (con.execute("SELECT * FROM filter_scores ORDER BY photo_id, label_id").fetchall(),
                con.execute("SELECT * FROM filter_decisions ORDER BY photo_id, label_id").fetchall())
    finally:
        con.close()


@pytest.mark.heavy
def test_filter_flow_on_a_local_cluster_matches_the_local_run(downloaded, tmp_path, prefect_harness):
    from distributed import LocalCluster

    from flows.filter import filter_flow
    from pipeline.filter import FilterSettings

    home, ckpt = downloaded
    cats = {}
    for name in ("local", "dask"):
        cats[name] = tmp_path / f"{name}.duckdb"
        shutil.copy(home / "catalog.duckdb", cats[name])
    settings = FilterSettings(model="x", weights=str(ckpt), rule="mass", threshold=0.2, shard_size=128)
    local = filter_flow(str(cats["local"]), str(home), settings)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dist = filter_flow(str(cats["dask"]), str(home), settings, dask_address=cluster.scheduler_address)
    assert dist == local and local["scored"] > 2 * 128               # more shards than workers
    (scores, decisions), (d_scores, d_decisions) = filter_tables(cats["local"]), filter_tables(cats["dask"])
    assert d_decisions == decisions and len(decisions) == len(scores) >= local["scored"]
    # Dask's nanny starts workers with OMP_NUM_THREADS=1; this process uses torch's default (one per core), and
    # CPU convolutions sum in a thread-count-dependent order (~5e-7 apart). Everything but the floats is exact.
    assert len(d_scores) == len(scores)
    for a, b in zip(scores, d_scores):
        pid, lid, model, sha, class_p, mammal_p, top5_idx, top5_p, in_top5 = a
        assert (pid, lid, model, sha, mammal_p, top5_idx, in_top5) == (b[0], b[1], b[2], b[3], b[5], b[6], b[8])
        assert class_p == pytest.approx(b[4], abs=1e-5) and top5_p == pytest.approx(b[7], abs=1e-5)
