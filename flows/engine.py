"""How flows start: the ephemeral Prefect API server gets longer to start than Prefect's 20 s default, and when it
still does not come up the user gets one line naming the ways out, not a traceback.

``configure()`` runs when ``flows`` is imported, before prefect is: Prefect reads its settings once, at import.
"""
from __future__ import annotations

import os

from catalog.errors import UserError

STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
STARTUP_TIMEOUT_S = 120          # Prefect's default is 20 s: too short on a busy 2-core machine


def configure() -> None:
    """Defaults only: a value the user exported wins."""
    os.environ.setdefault(STARTUP_TIMEOUT_ENV, str(STARTUP_TIMEOUT_S))


def run_flow(flow_fn, *args, **kwargs):
    """Call a flow; a temporary Prefect server that never answered becomes a ``UserError``."""
    try:
        return flow_fn(*args, **kwargs)
    except RuntimeError as e:
        if "ephemeral Prefect API server" not in str(e):
            raise
        raise UserError(f"the temporary Prefect API server did not start within {os.environ.get(STARTUP_TIMEOUT_ENV)} "
                        f"s (a busy machine?): rerun with --no-prefect, or start a server (`prefect server start`) "
                        f"and export PREFECT_API_URL=http://127.0.0.1:4200/api, or raise {STARTUP_TIMEOUT_ENV}"
                        ) from None
