"""Dask scale-out: shards run on a real process cluster through the Prefect flow, the catalog matches a local run."""
from __future__ import annotations

import pytest

from catalog import connect
from pipeline.download import download
from tests.test_download import files, fresh, rows, served  # noqa: F401  (served is a fixture)


@pytest.mark.heavy
def test_download_flow_on_a_local_cluster_matches_the_local_run(served, tmp_path, prefect_harness):  # noqa: F811
    from distributed import LocalCluster

    from flows.download import download_flow

    server, tmpl = served
    local = fresh(tmpl, tmp_path / "local")
    download(connect(local), str(local.parent), static_base=server.static_base, shard_size=64, show_progress=False)
    dist = fresh(tmpl, tmp_path / "dask")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        out = download_flow(str(dist), str(dist.parent), server.static_base, shard_size=64,
                            dask_address=cluster.scheduler_address)
    assert out["shards"] > 1
    assert rows(dist) == rows(local) and len(rows(local)) > 0
    assert files(dist.parent) == files(local.parent)
