"""The DuckDB catalog: schema, migrations, class catalogue. Imports no other package of ours."""
from catalog.classes import MammalClass, load_classes, select_classes, sync_classes
from catalog.db import DEFAULT_CATALOG, DEFAULT_HOME, connect, migrate, transaction
from catalog.errors import UserError

__all__ = ["DEFAULT_CATALOG", "DEFAULT_HOME", "MammalClass", "UserError", "connect", "load_classes",
           "migrate", "select_classes", "sync_classes", "transaction"]
