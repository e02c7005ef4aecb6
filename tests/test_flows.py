"""Prefect flows run the same crawl; secrets stay out of parameters, logs and the catalog."""
from __future__ import annotations

import asyncio

import duckdb

from catalog import load_classes, select_classes
from flows.crawl import crawl_flow

KEY, SECRET = "SEKRET-KEY-0123456789", "SEKRET-SECRET-9876543210"


def test_crawl_flow_lands_data_and_never_shows_the_key(tmp_path, sim_server, sim_world, prefect_harness,
                                                       monkeypatch, capfd, caplog):
    s = sim_server(api_key=KEY, api_secret=SECRET)
    monkeypatch.setenv("FLICKR_API_KEY", KEY)
    monkeypatch.setenv("FLICKR_API_SECRET", SECRET)
    path = tmp_path / "flow.duckdb"
    out = crawl_flow(str(path), s.rest_url, ["Cat", "Hedgehog", "Skunk"], max_upload_date="2021-01-01", rate=1e8,
                     classes_label="three")
    assert out["status"] == "done" and out["new_photos"] > 0
    con = duckdb.connect(str(path), read_only=True)
    n = con.execute("SELECT count(DISTINCT photo_id) FROM photo_classes").fetchall()[0][0]
    con.close()
    t = sim_world.truth().to_pandas()
    want = t[t.label_id.isin([c.label_id for c in select_classes(load_classes(), ["Cat", "Hedgehog", "Skunk"])])]
    assert n == want.photo_id.nunique()

    from prefect.client.orchestration import get_client

    async def runs():
        async with get_client() as client:
            from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

            flows = await client.read_flow_runs(limit=200, sort=FlowRunSort.START_TIME_DESC)
            tasks = await client.read_task_runs(limit=200, sort=TaskRunSort.EXPECTED_START_TIME_DESC)
            return flows, tasks
    flow_runs, task_runs = asyncio.run(runs())
    assert {tr.name for tr in task_runs} >= {"crawl-cat", "crawl-hedgehog", "crawl-skunk"}
    blob = repr([fr.parameters for fr in flow_runs]) + repr([tr.task_inputs for tr in task_runs])
    logs = capfd.readouterr()
    for secret in (KEY, SECRET):
        assert secret not in blob
        assert secret not in logs.out + logs.err + caplog.text
        assert secret.encode() not in path.read_bytes()
