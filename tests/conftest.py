"""Shared fixtures. Prefect runs against a throwaway home; servers listen on 127.0.0.1 only."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

if "PREFECT_HOME" not in os.environ or os.environ["PREFECT_HOME"] == os.environ.get("FM_TEST_PREFECT_HOME"):
    # a throwaway home; under pytest-xdist (make test-all) one per worker, as each worker runs its own Prefect
    # servers and CLI runs (the workers inherit the controller's environment, this home included)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    os.environ["PREFECT_HOME"] = os.environ["FM_TEST_PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"fm-prefect-{worker}")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
PYTHON = sys.executable


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for tests that run flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present (tests read ../shared beside the checkout)")
    return path


@pytest.fixture(scope="session")
def sim_world():
    """The demo-sized offline world: ~3,300 photos over all 42 classes."""
    from pipeline.sim import World

    return World(seed=0, scale=0.002)


@pytest.fixture
def sim_server(sim_world):
    """Factory: ``sim_server(world=None, faults=None)`` → a started SimServer, stopped at teardown."""
    from pipeline.sim import SimServer

    started = []

    def make(world=None, faults=None, **kw):
        s = SimServer(world or sim_world, faults=faults, **kw).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


DOWNLOAD_CLASSES = ["Cat", "Zebra", "Koala", "Skunk", "Whale"]
FILTER_CLASSES = ["Cat", "Zebra", "Koala", "Polar bear", "Elephant", "Tiger"]


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """A crawled template catalog (DOWNLOAD_CLASSES) and the server its URLs point at. One per session: the download
    and Dask tests share it (a test that sets ``server.faults`` puts ``Faults()`` back)."""
    from catalog import connect, load_classes, select_classes
    from pipeline.crawl import CrawlSettings, Credentials, crawl
    from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, SimServer, World

    world = World(5, 0.004, classes=select_classes(load_classes(), DOWNLOAD_CLASSES))
    server = SimServer(world).start()
    tmpl = tmp_path_factory.mktemp("tmpl") / "catalog.duckdb"
    con = connect(tmpl)
    crawl(con, CrawlSettings(api_url=server.rest_url, classes=DOWNLOAD_CLASSES, rate=1e8,
                             max_upload_date="2021-01-01"),
          credentials=Credentials(DEMO_API_KEY, DEMO_API_SECRET), show_progress=False)
    con.close()
    yield server, tmpl
    server.stop()


@pytest.fixture(scope="session")
def downloaded(tmp_path_factory):
    """Downloaded images of FILTER_CLASSES and a small classifier trained on them: (home, checkpoint). One per
    session: the filter and Dask tests share it and only read it (they copy the catalog before writing)."""
    from catalog import connect, load_classes, select_classes
    from pipeline import filter as flt
    from pipeline.crawl import CrawlSettings, Credentials, crawl
    from pipeline.download import DownloadSettings, download
    from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, SimServer, World

    home = tmp_path_factory.mktemp("flt")
    world = World(3, 0.004, classes=select_classes(load_classes(), FILTER_CLASSES))
    con = connect(home / "catalog.duckdb")
    with SimServer(world) as s:
        crawl(con, CrawlSettings(api_url=s.rest_url, classes=FILTER_CLASSES, rate=1e8, max_upload_date="2021-01-01"),
              credentials=Credentials(DEMO_API_KEY, DEMO_API_SECRET), show_progress=False)
        download(con, str(home), DownloadSettings(static_base=s.static_base, longest_side=96, processes=1),
                 show_progress=False)
    world.write_truth(con)
    ckpt = home / "clf" / "classifier.pth"
    flt.train_classifier(con, home, ckpt, img_size=32, epochs=4, show_progress=False)
    con.close()
    return home, ckpt


def run_cli(*args, env=None, timeout=300, cwd=None):
    """Run ``flickr-mammal ARGS`` in a subprocess; returns CompletedProcess with text output."""
    import subprocess

    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([PYTHON, "-m", "flows.cli", *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=timeout, cwd=cwd or REPO)
