"""How flows start: the temporary Prefect API server that the CLI starts gets longer to start than Prefect's 20 s
default and keeps a quiet terminal; when it still does not come up the user gets one line naming the ways out,
not a traceback.

``configure()`` runs when ``flows`` is imported, before prefect is: Prefect reads its settings once, at import,
and the temporary server (a subprocess, `uvicorn prefect.server.api.server:create_app`) inherits this
environment and this terminal.

Quiet terminal: analytics off (no telemetry heartbeat, whose session write once printed `sqlite3.OperationalError:
database is locked` into a crawl's output), and Prefect's logging config swapped for ``prefect_logging.json``:
Prefect 3.8.8's own ``logging.yml`` plus one file handler, ``$PREFECT_HOME/flickr-mammal-server.log``, that takes
the server's loggers (``prefect.server``: its background services; ``docket``: the scheduler that runs them and
logs their exceptions with tracebacks; ``uvicorn``, ``fastapi``). Flow and task run logs stay on the terminal;
a task run outside a flow (`geocode --prefect`) no longer warns that its logs have no flow run to go to.
"""
from __future__ import annotations

import os
from pathlib import Path

from catalog.errors import UserError

STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
STARTUP_TIMEOUT_S = 120          # Prefect's default is 20 s: too short on a busy 2-core machine
LOGGING_CONFIG = Path(__file__).with_name("prefect_logging.json")
SERVER_LOG = "flickr-mammal-server.log"     # under PREFECT_HOME (prefect_logging.json names it)
DEFAULTS = {
    STARTUP_TIMEOUT_ENV: str(STARTUP_TIMEOUT_S),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_SETTINGS_PATH": str(LOGGING_CONFIG),
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",     # a verb's lone task (geocode --prefect) warned
}


def configure() -> None:
    """Defaults only: a value the user exported wins."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


def run_flow(flow_fn, *args, **kwargs):
    """Call a flow; a temporary Prefect server that never answered becomes a ``UserError``."""
    try:
        return flow_fn(*args, **kwargs)
    except RuntimeError as e:
        if "ephemeral Prefect API server" not in str(e):
            raise
        raise UserError(f"the temporary Prefect API server did not start within {os.environ.get(STARTUP_TIMEOUT_ENV)} "
                        f"s (a busy machine? its log: {server_log()}): rerun with --no-prefect, or start a server "
                        f"(`prefect server start`) and export PREFECT_API_URL=http://127.0.0.1:4200/api, or raise "
                        f"{STARTUP_TIMEOUT_ENV}") from None


def server_log() -> Path:
    """Where the temporary server's own logs go (with the default logging config)."""
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / SERVER_LOG
