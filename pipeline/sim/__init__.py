"""The offline Flickr service (SPEC §5): a deterministic world served over real HTTP on loopback."""
from pipeline.sim.faults import Faults
from pipeline.sim.server import DEMO_API_KEY, DEMO_API_SECRET, SimServer
from pipeline.sim.world import World

__all__ = ["DEMO_API_KEY", "DEMO_API_SECRET", "Faults", "SimServer", "World"]
