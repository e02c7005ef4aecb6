"""SkewScout: models travel between partitions to measure what label skew costs, and each algorithm's
communication knob is moved to keep that loss inside a target band."""
from training.skewscout.controller import Controller
from training.skewscout.skewscout import SkewScout

__all__ = ["Controller", "SkewScout"]
