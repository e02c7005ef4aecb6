"""One entry point per stage: each verb hands its stage function the same settings object with and without Prefect
(and gets the same result); the Prefect flows keep secrets out of parameters, logs and the catalog."""
from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import fields, is_dataclass

import duckdb
import pytest

from catalog import load_classes, select_classes
from pipeline.crawl import CrawlSettings
from pipeline.download import DownloadSettings
from pipeline.export import ExportSettings
from pipeline.filter import FilterSettings
from pipeline.geocode import GeocodeSettings
from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET
from tests.conftest import PYTHON, REPO

KEY, SECRET = "SEKRET-KEY-0123456789", "SEKRET-SECRET-9876543210"
VERBS = {("crawl",): CrawlSettings, ("download",): DownloadSettings, ("filter", "score"): FilterSettings,
         ("geocode",): GeocodeSettings, ("export",): ExportSettings}
NOT_FLAGS = {FilterSettings: {"train", "holdout"}}   # `filter train` (own subcommand) takes them; so does build


def _dests(parser, path) -> set[str]:
    import argparse

    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return {a.dest for a in parser._actions}


@pytest.mark.parametrize("path, cls", VERBS.items(), ids=[" ".join(p) for p in VERBS])
def test_every_setting_has_a_flag_and_every_flag_reaches_the_settings(path, cls):
    from flows.cli import build_parser
    from flows.commands.common import stage_settings

    parser = build_parser()
    names = {f.name for f in fields(cls)}
    assert names - NOT_FLAGS.get(cls, set()) <= _dests(parser, path)
    assert stage_settings(cls, parser.parse_args([*path, "--out", "x"] if path == ("export",) else list(path))) == cls()


def _recorder(monkeypatch):
    """Wrap each stage function (looked up on its package at call time by both paths) to record its settings."""
    import flows.dask
    import pipeline.crawl
    import pipeline.download
    import pipeline.export
    import pipeline.filter
    import pipeline.geocode

    got: list = []
    for mod, name in ((pipeline.crawl, "crawl"), (pipeline.download, "download"), (pipeline.filter, "filter_photos"),
                      (pipeline.geocode, "geocode_catalog"), (pipeline.export, "export")):
        orig = getattr(mod, name)

        def rec(*a, _orig=orig, **k):
            got.append(next(x for x in a if is_dataclass(x)))
            return _orig(*a, **k)
        monkeypatch.setattr(mod, name, rec)
    runner = flows.dask.task_runner

    def rec_runner(address, local_workers=2):
        got.append(("workers", local_workers))
        return runner(address, local_workers)
    monkeypatch.setattr(flows.dask, "task_runner", rec_runner)
    return got


def _tables(path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.heavy
def test_each_verb_same_settings_and_results_with_and_without_prefect(tmp_path, sim_server, prefect_harness,
                                                                      monkeypatch, capsys):
    import json

    from catalog import connect
    from flows.cli import main
    from pipeline.filter import train_classifier

    s = sim_server()
    monkeypatch.setenv("FLICKR_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("FLICKR_API_SECRET", DEMO_API_SECRET)
    got = _recorder(monkeypatch)
    cats = {p: tmp_path / p / "catalog.duckdb" for p in ("plain", "prefect")}
    ckpt = tmp_path / "clf" / "classifier.pth"
    verbs = [
        ["crawl", "--api-url", s.rest_url, "--classes", "Skunk,Hedgehog,Koala", "--max-upload-date", "2021-01-01",
         "--rate", "1e8", "--timeout", "7", "--workers", "3"],
        ["download", "--static-base", s.static_base, "--longest-side", "64", "--quality", "80", "--threads", "4",
         "--timeout", "9", "--attempts", "3", "--shard-size", "40", "--processes", "2", "--retry-failed",
         "--output-format", "files"],
        ["filter", "score", "--model", "x", "--weights", str(ckpt), "--rule", "mass-or-top5", "--threshold", "0.3",
         "--batch-size", "16", "--workers", "0", "--shard-size", "50", "--device", "cpu"],
        ["geocode", "--redo"],
        ["export", "--out", "{home}/export", "--partitioner", "label-exclusive", "--num-partitions", "3",
         "--test-fraction", "0.2", "--seed", "5"],
    ]
    for argv in verbs:
        received, outs = [], []
        if argv[0] == "filter" and not ckpt.exists():
            train_classifier(connect(cats["plain"]), cats["plain"].parent, ckpt, img_size=16, epochs=1,
                             show_progress=False)
        for flag, path in cats.items():
            got.clear()
            args = [a.replace("{home}", str(path.parent)) for a in argv]
            prefect = "--prefect" if flag == "prefect" else "--no-prefect"
            assert main([*args, "--catalog", str(path), "--json", prefect]) == 0
            received.append([g for g in got if not isinstance(g, tuple)])
            outs.append(json.loads(capsys.readouterr().out))
            if flag == "prefect" and argv[0] in ("crawl", "download"):
                assert ("workers", 3 if argv[0] == "crawl" else 2) in got      # --workers / --processes honoured
        assert received[0] == received[1] and len(received[0]) == 1, argv[0]
        drop = {"seconds", "img_per_s", "run_id", "photos_per_s", "device"}
        assert [{k: v for k, v in o.items() if k not in drop} for o in outs[:1]] == [
            {k: v for k, v in o.items() if k not in drop} for o in outs[1:]]
    assert received[0][0] == ExportSettings(partitioner="label-exclusive", num_partitions=3, test_fraction=0.2, seed=5)
    for sql in ("SELECT photo_id, label_id FROM photo_classes ORDER BY ALL",
                "SELECT photo_id, status, path, bytes, width, height, sha256 FROM downloads ORDER BY ALL",
                "SELECT photo_id, label_id, keep FROM filter_decisions ORDER BY ALL",
                "SELECT * FROM geocodes ORDER BY ALL"):
        assert _tables(cats["plain"], sql) == _tables(cats["prefect"], sql), sql


@pytest.mark.heavy
def test_crawl_flow_lands_data_and_never_shows_the_key(tmp_path, sim_server, sim_world, prefect_harness,
                                                       monkeypatch, capfd, caplog):
    from flows.crawl import crawl_flow

    s = sim_server(api_key=KEY, api_secret=SECRET)
    monkeypatch.setenv("FLICKR_API_KEY", KEY)
    monkeypatch.setenv("FLICKR_API_SECRET", SECRET)
    path = tmp_path / "flow.duckdb"
    out = crawl_flow(str(path), CrawlSettings(api_url=s.rest_url, classes=["Cat", "Hedgehog", "Skunk"],
                                              max_upload_date="2021-01-01", rate=1e8))
    assert out["status"] == "done" and out["new_photos"] > 0
    n = _tables(path, "SELECT count(DISTINCT photo_id) FROM photo_classes")[0][0]
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


@pytest.mark.slow
def test_a_prefect_server_that_does_not_start_is_one_line_naming_the_way_out(tmp_path, sim_server):
    """The default crawl runs under Prefect; when its temporary API server does not answer in time, exit 2 with one
    line naming --no-prefect and PREFECT_API_URL, and nothing written."""
    s = sim_server()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"FLICKR_API_KEY": DEMO_API_KEY, "FLICKR_API_SECRET": DEMO_API_SECRET,
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1", "PREFECT_HOME": str(tmp_path / "prefect")}
    path = tmp_path / "c.duckdb"
    r = subprocess.run([PYTHON, "-m", "flows.cli", "crawl", "--catalog", str(path), "--api-url", s.rest_url,
                        "--classes", "Skunk", "--max-upload-date", "2021-01-01"], capture_output=True, text=True,
                       env=env, cwd=REPO, timeout=120)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("flickr-mammal: error:")]
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr      # besides Prefect's own INFO lines
    assert len(errors) == 1 and "--no-prefect" in errors[0] and "PREFECT_API_URL" in errors[0], r.stderr
    assert not path.exists()


def test_the_startup_timeout_default_is_longer_than_prefects_and_the_users_wins(monkeypatch):
    from flows import engine

    monkeypatch.delenv(engine.STARTUP_TIMEOUT_ENV, raising=False)
    engine.configure()
    assert int(os.environ[engine.STARTUP_TIMEOUT_ENV]) == engine.STARTUP_TIMEOUT_S > 20
    monkeypatch.setenv(engine.STARTUP_TIMEOUT_ENV, "300")
    engine.configure()
    assert os.environ[engine.STARTUP_TIMEOUT_ENV] == "300"


@pytest.mark.parametrize("key", ["PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_SETTINGS_PATH",
                                 "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"])
def test_configure_sets_a_quiet_prefect_by_default_and_the_users_value_wins(monkeypatch, key):
    from flows import engine

    assert engine.DEFAULTS["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert engine.DEFAULTS["PREFECT_LOGGING_SETTINGS_PATH"] == str(engine.LOGGING_CONFIG)

    monkeypatch.delenv(key, raising=False)
    engine.configure()
    assert os.environ[key] == engine.DEFAULTS[key]
    monkeypatch.setenv(key, "users-choice")
    engine.configure()
    assert os.environ[key] == "users-choice"


def test_the_logging_config_is_prefects_own_plus_a_file_for_the_servers_loggers():
    """prefect_logging.json is Prefect's logging.yml with the server's loggers sent to one file: an upgrade of
    Prefect that changes its default fails here instead of silently diverging."""
    import json

    import yaml
    from prefect.logging.configuration import DEFAULT_LOGGING_SETTINGS_PATH

    from flows import engine

    ours = json.loads(engine.LOGGING_CONFIG.read_text())
    theirs = yaml.safe_load(DEFAULT_LOGGING_SETTINGS_PATH.read_text())
    assert ours["handlers"].pop("server_log")["filename"] == "${PREFECT_HOME}/" + engine.SERVER_LOG
    moved = {"prefect.server", "docket", "uvicorn", "fastapi"}
    for name in moved:
        assert ours["loggers"][name]["handlers"] == ["server_log"]
        ours["loggers"].pop(name)
        theirs["loggers"].pop(name, None)
    assert ours == theirs


def test_the_servers_background_errors_go_to_its_log_file_not_the_terminal(tmp_path):
    """What the telemetry heartbeat printed under load (a docket task's traceback) lands in PREFECT_HOME's log;
    a library's warning and Prefect's own client messages still reach the terminal."""
    code = ("import flows, logging, sqlite3\n"
            "from prefect.logging.configuration import setup_logging\n"
            "setup_logging()\n"
            "try:\n    raise sqlite3.OperationalError('database is locked')\n"
            "except Exception:\n    logging.getLogger('docket.worker').exception('Error running heartbeat')\n"
            "logging.getLogger('prefect.server.services.foreman').error('service failed')\n"
            "logging.getLogger('some.library').warning('library warning')\n"
            "logging.getLogger('prefect').warning('client warning')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_LOGGING")}
    env["PREFECT_HOME"] = str(tmp_path)
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "flickr-mammal-server.log").read_text()
    assert "database is locked" in log and "Traceback" in log and "service failed" in log
    assert "database is locked" not in r.stderr and "Traceback" not in r.stderr and "service failed" not in r.stderr
    assert "library warning" in r.stderr and "client warning" in r.stderr
