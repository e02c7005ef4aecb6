"""Keep the skew-induced accuracy loss inside [σ/2, σ] by moving an algorithm's knob one grid step at a time."""
from __future__ import annotations

from dataclasses import dataclass, field

# which way is "tighter" (more communication) along each algorithm's knob grid
TIGHTER_IS_LOWER = {"threshold": True, "iter_local": True, "sparsity": True}


@dataclass
class Controller:
    grid: list                 # the knob's grid, sorted ascending
    sigma: float               # target accuracy loss (fraction, e.g. 0.05)
    position: int              # index into grid of the current knob
    knob: str = "threshold"
    history: list = field(default_factory=list)

    @classmethod
    def for_algorithm(cls, algo, sigma: float, grid=None) -> "Controller":
        g = sorted(grid or algo.knob_grid)
        current = algo.get_knob()
        pos = min(range(len(g)), key=lambda i: abs(g[i] - current))
        return cls(g, float(sigma), pos, algo.knob)

    @property
    def value(self):
        return self.grid[self.position]

    def update(self, loss: float) -> int:
        """One grid step: tighten above σ, loosen below σ/2, stay inside the band. Returns the step taken."""
        lower = TIGHTER_IS_LOWER.get(self.knob, True)
        step = 0
        if loss > self.sigma:
            step = -1 if lower else 1
        elif loss < self.sigma / 2:
            step = 1 if lower else -1
        self.position = min(max(self.position + step, 0), len(self.grid) - 1)
        self.history.append((loss, self.value))
        return step
