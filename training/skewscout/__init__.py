"""SkewScout: models travel between partitions to measure what label skew costs, and each algorithm's
communication knob is moved to keep that loss inside a target band.

The package imports nothing on its own (``Controller`` and ``SkewScout`` load on first use), so that
``training.config`` can read ``training.skewscout.settings`` without torch, and so that the modules below never
import back into the package."""
from __future__ import annotations

__all__ = ["Controller", "SkewScout"]


def __getattr__(name: str):
    if name == "Controller":
        from training.skewscout.controller import Controller
        return Controller
    if name == "SkewScout":
        from training.skewscout.skewscout import SkewScout
        return SkewScout
    raise AttributeError(f"module 'training.skewscout' has no attribute {name!r}")
