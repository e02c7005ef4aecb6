"""Keep the skew-induced accuracy loss inside [σ/2, σ] by moving an algorithm's knob one grid step at a time."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

RULES = ("gated", "paper")
STATE = ("position", "history")


def paired_loss(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    """(loss, its standard error) from per-example correctness on fixed samples: for each pair, the local model's
    and the visiting model's 0/1 correctness on the same examples. loss = mean over pairs of max(0, mean paired
    difference); the standard error is that of the unclipped mean of the pairs' mean differences, from each pair's
    sample variance of the per-example differences (the examples are paired: both models saw the same ones)."""
    if not pairs:
        return 0.0, 0.0
    losses, var = [], 0.0
    for local, visiting in pairs:
        d = local.double() - visiting.double()
        n = d.numel()
        losses.append(max(0.0, float(d.mean())) if n else 0.0)
        var += float(d.var(correction=1)) / n if n > 1 else 0.0
    return sum(losses) / len(losses), math.sqrt(var) / len(pairs)


@dataclass
class Controller:
    """``rule = "gated"`` (the default): tighten one grid step when the loss exceeds σ by more than ``z`` standard
    errors, loosen one step when it is below σ/2 by more than ``z`` standard errors, otherwise stay. ``"paper"``:
    the paper's band on the point estimate alone (above σ tighten, below σ/2 loosen). Nothing else: no memory, no
    discount, no holding period."""
    grid: list                 # the knob's grid, sorted ascending
    sigma: float               # target accuracy loss (fraction, e.g. 0.05)
    position: int              # index into grid of the current knob
    tighter_is_lower: bool = True                  # a lower knob communicates more (the algorithm says)
    rule: str = "gated"
    z: float = 2.0                                 # standard errors a loss must clear an edge of the band by
    history: list = field(default_factory=list)    # (loss, standard error, knob after) per measurement

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"skewscout.rule {self.rule!r}: use \"gated\" (the band beyond z standard errors of "
                             f"the paired differences) or \"paper\" (the band on the measured loss alone)")

    @classmethod
    def for_algorithm(cls, algo, sigma: float, grid=None, rule: str = "gated", z: float = 2.0) -> Controller:
        g = sorted(grid or algo.knob_grid)
        current = algo.get_knob()
        pos = min(range(len(g)), key=lambda i: abs(g[i] - current))
        return cls(g, float(sigma), pos, algo.knob_tighter_is_lower, rule, float(z))

    @property
    def value(self):
        return self.grid[self.position]

    @property
    def looser(self) -> int:
        """The grid step that loosens this knob (+1 when a lower knob communicates more)."""
        return 1 if self.tighter_is_lower else -1

    def update(self, loss: float, se: float = 0.0) -> int:
        """One measurement (loss and its standard error): one grid step or none. Returns the step taken."""
        margin = self.z * se if self.rule == "gated" else 0.0
        step = 0
        if loss - margin > self.sigma:
            step = -self.looser
        elif loss + margin < self.sigma / 2:
            step = self.looser
        self.position = min(max(self.position + step, 0), len(self.grid) - 1)
        self.history.append((loss, se, self.value))
        return step

    def state_dict(self) -> dict:
        """What a checkpoint keeps: where the controller stands and what it measured."""
        return {k: getattr(self, k) for k in STATE}

    def load_state_dict(self, state: dict) -> None:
        for k in STATE:
            setattr(self, k, state[k])
