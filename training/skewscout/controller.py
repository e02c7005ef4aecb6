"""Keep the skew-induced accuracy loss inside [σ/2, σ] by moving an algorithm's knob one grid step at a time."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

RULES = ("scaled", "gated", "paper")
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
    """``rule = "scaled"`` (the default): act only on a loss that is outside [σ/2, σ] by more than ``z`` standard
    errors. Tighten one grid step when lo = loss − z·SE > σ: a tightening raises the bytes of every iteration after
    it, and the next measurement shows whether one step was enough. Loosen when hi = loss + z·SE < σ/2 by as many
    grid steps as hi is below the band's centre c = 3σ/4, taking one step to change the loss by a factor
    ``step_ratio``: max(1, round(log(c / hi) / log(step_ratio))), to the loosest knob when hi = 0. ``"gated"``:
    the same gates, one step either way. ``"paper"``: one step on the point estimate alone (above σ tighten, below
    σ/2 loosen). No memory, no discount, no holding period: each measurement is acted on by itself."""
    grid: list                 # the knob's grid, sorted ascending
    sigma: float               # target accuracy loss (fraction, e.g. 0.05)
    position: int              # index into grid of the current knob
    tighter_is_lower: bool = True                  # a lower knob communicates more (the algorithm says)
    rule: str = "scaled"
    z: float = 2.0                                 # standard errors a loss must clear an edge of the band by
    step_ratio: float = 2.0                        # rule "scaled": the factor of loss one grid step is taken to make
    history: list = field(default_factory=list)    # (loss, standard error, knob after) per measurement

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"skewscout.rule {self.rule!r}: use \"scaled\" (the band beyond z standard errors of "
                             f"the paired differences, steps by the loss's distance from the band), \"gated\" (the "
                             f"same gates, one step) or \"paper\" (the band on the measured loss alone)")
        if self.step_ratio <= 1:
            raise ValueError(f"skewscout.step_ratio must be > 1 (the factor of loss one grid step makes), "
                             f"got {self.step_ratio}")

    @classmethod
    def for_algorithm(cls, algo, sigma: float, grid=None, rule: str = "scaled", z: float = 2.0,
                      step_ratio: float = 2.0) -> Controller:
        g = sorted(grid or algo.knob_grid)
        current = algo.get_knob()
        pos = min(range(len(g)), key=lambda i: abs(g[i] - current))
        return cls(g, float(sigma), pos, algo.knob_tighter_is_lower, rule, float(z), float(step_ratio))

    @property
    def value(self):
        return self.grid[self.position]

    @property
    def looser(self) -> int:
        """The grid step that loosens this knob (+1 when a lower knob communicates more)."""
        return 1 if self.tighter_is_lower else -1

    def update(self, loss: float, se: float = 0.0) -> int:
        """One measurement (loss and its standard error): the grid steps it calls for (0 inside the band).
        Returns the change of grid position."""
        margin = 0.0 if self.rule == "paper" else self.z * se
        lo, hi = loss - margin, loss + margin
        steps = 0
        if lo > self.sigma:
            steps = -self.looser * self._steps(lo, tighten=True)
        elif hi < self.sigma / 2:
            steps = self.looser * self._steps(hi, tighten=False)
        before = self.position
        self.position = min(max(self.position + steps, 0), len(self.grid) - 1)
        self.history.append((loss, se, self.value))
        return self.position - before

    def _steps(self, bound: float, tighten: bool) -> int:
        """How many grid steps a bound outside the band calls for (1 unless the rule is "scaled" and it loosens)."""
        if self.rule != "scaled" or tighten:
            return 1
        centre = 0.75 * self.sigma
        if bound <= 0:
            return len(self.grid)
        return max(1, round(math.log(centre / bound) / math.log(self.step_ratio)))

    def state_dict(self) -> dict:
        """What a checkpoint keeps: where the controller stands and what it measured."""
        return {k: getattr(self, k) for k in STATE}

    def load_state_dict(self, state: dict) -> None:
        for k in STATE:
            setattr(self, k, state[k])
