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
