"""The ``[skewscout]`` section. It lives with SkewScout, not in training/config.py, so that a run without SkewScout
does not depend on it: the study's run cache keys such a run by the engine without training/skewscout/."""
from __future__ import annotations

from dataclasses import dataclass

MEASURES = ("auto", "travel", "average")
SHORTEST_SHARE = 100     # travel_every left out: the shortest gap is 1/100 of the run ...
LONGEST_SHARE = 8        # ... and travel_at_least_every 1/8 of it


@dataclass
class SkewScoutConfig:
    """``SkewScout`` says what each setting does. These defaults are what study F4 judges (docs/study/REPORT.md)."""
    enabled: bool = False
    sigma: float = 0.05
    sample_size: int = 200
    seed: int = 0
    grid: list | None = None                         # None: the algorithm's own grid
    travel_every: int | None = None                  # shortest gap (iterations); None: 1/100 of the run
    travel_budget: float | None = 0.1                # None (0 or "none" in a config): no cap
    travel_at_least_every: int | None = None         # longest gap (iterations); None: 1/8 of the run
    backoff: float = 2.0                             # a steady loss inside the band: the gap grows by this factor
    measure: str = "auto"
    rule: str = "sized"                              # sized | drift | scaled | gated | paper (checked by Controller)
    z: float = 2.0                                   # standard errors beyond the band's edges
    step_ratio: float = 2.0                          # scaled: the factor of loss one grid step is taken to make
    exponent: float = 1.0                            # drift: the loss is taken to scale as the knob's drift ** this

    def __post_init__(self):
        if self.travel_budget in (0, "none"):
            self.travel_budget = None
        if self.travel_every is not None and int(self.travel_every) < 1:
            raise ValueError(f"skewscout.travel_every must be >= 1, got {self.travel_every}")
        if self.travel_budget is not None and float(self.travel_budget) <= 0:
            raise ValueError(f"skewscout.travel_budget must be > 0 (a fraction of the algorithm's bytes), "
                             f"got {self.travel_budget}; leave it out for no cap")
        if (self.travel_every is not None and self.travel_at_least_every is not None
                and int(self.travel_at_least_every) < int(self.travel_every)):
            raise ValueError(f"skewscout.travel_at_least_every ({self.travel_at_least_every}) must be >= travel_every "
                             f"({self.travel_every})")
        if float(self.backoff) < 1:
            raise ValueError(f"skewscout.backoff must be >= 1 (the factor a steady loss's gap grows by), "
                             f"got {self.backoff}")
        if self.measure not in MEASURES:
            raise ValueError(f"skewscout.measure {self.measure!r}: use \"auto\" (average for FedAvg, travel "
                             f"otherwise), \"travel\" (the paper's model travel) or \"average\"")

    def gaps(self, iterations: int) -> tuple[int, int]:
        """(shortest, longest) gap between measurements in a run of ``iterations``: the keys where given, else
        1/100 and 1/8 of the run."""
        shortest = int(self.travel_every) if self.travel_every is not None else max(1, iterations // SHORTEST_SHARE)
        longest = (int(self.travel_at_least_every) if self.travel_at_least_every is not None
                   else max(shortest, iterations // LONGEST_SHARE))
        return shortest, max(shortest, longest)
