"""Every setting of a geocode run (the CLI verb and the Prefect task hand the same object to ``geocode_catalog``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GeocodeSettings:
    redo: bool = False       # geocode every photo again, not only those without a geocode
