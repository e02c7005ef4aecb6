"""Shared fixtures. Prefect runs against a throwaway home; servers listen on 127.0.0.1 only."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="fm-prefect-"))
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


def run_cli(*args, env=None, timeout=300, cwd=None):
    """Run ``flickr-mammal ARGS`` in a subprocess; returns CompletedProcess with text output."""
    import subprocess

    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([PYTHON, "-m", "flows.cli", *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=timeout, cwd=cwd or REPO)
