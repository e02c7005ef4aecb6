"""A scheduled deployment on a real local Prefect server (loopback, bounded in time) runs and lands data."""
from __future__ import annotations

import os
import socket
import subprocess
import time

import duckdb
import pytest
import requests

from catalog import load_classes, select_classes
from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, SimServer, World
from tests.conftest import PYTHON, REPO

pytestmark = [pytest.mark.heavy, pytest.mark.server]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_interval_deployment_runs_and_lands_photos(tmp_path):
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_API_URL=f"http://127.0.0.1:{port}/api", FLICKR_API_KEY=DEMO_API_KEY,
               FLICKR_API_SECRET=DEMO_API_SECRET, PREFECT_LOGGING_TO_API_ENABLED="false")
    server = subprocess.Popen([PYTHON, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    serve = None
    classes = select_classes(load_classes(), ["Cat"])
    world = World(0, 0.003, classes=classes)
    catalog = tmp_path / "catalog.duckdb"
    try:
        deadline = time.time() + 150
        while time.time() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(1)
        else:
            pytest.fail("prefect server did not start within 150 s")
        with SimServer(world) as sim:
            serve = subprocess.Popen([PYTHON, "-m", "flows.cli", "deploy", "--catalog", str(catalog),
                                      "--interval", "10",
                                      "--api-url", sim.rest_url, "--classes", "Cat", "--stages", "crawl",
                                      "--rate", "1000000"], cwd=REPO, env=env,
                                     stdout=open(tmp_path / "serve.log", "w"), stderr=subprocess.STDOUT)
            done = False
            deadline = time.time() + 180
            while time.time() < deadline and not done:
                time.sleep(3)
                log = (tmp_path / "serve.log").read_text()
                done = "Flow run 'build-continent' - Finished in state Completed()" in log
            assert done, "no scheduled run completed within 180 s: " + (tmp_path / "serve.log").read_text()[-3000:]
            serve.terminate()
            serve.wait(timeout=60)
        con = duckdb.connect(str(catalog), read_only=True)
        n = con.execute("SELECT count(*) FROM photo_classes").fetchall()[0][0]
        con.close()
        assert n == world.truth().num_rows
    finally:
        for p in (serve, server):
            if p and p.poll() is None:
                p.kill()
                p.wait()
