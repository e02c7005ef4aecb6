"""Keep the skew-induced accuracy loss inside [σ/2, σ] by moving an algorithm's knob one grid step at a time."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from training.skewscout.settings import SkewScoutConfig

RULES = ("drift", "scaled", "gated", "paper")
STATE = ("position", "history")


# How far a partition's model may drift from the others between synchronisations, in proportion, for each knob value:
# Gaia lets an unsent update grow to T × the weight, FedAvg lets a replica take Iter_local steps alone, DGC keeps an
# entry's update back for about 1 / (1 - sparsity) iterations. Rule "drift" takes the skew-induced loss to scale as
# this drift to the power ``exponent`` (the factor lr / lr0 of Gaia's T in effect cancels between two knobs).
DRIFT: dict[str, Callable[[float], float]] = {"dgc": lambda sparsity: 1.0 / max(1e-12, 1.0 - sparsity)}


def drift(algorithm: str, value: float) -> float:
    """The drift a knob value allows, up to a factor common to the grid (the value itself unless DRIFT says)."""
    return float(DRIFT.get(algorithm, float)(value))


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
    """``rule = "drift"`` (the default): act only on a loss that is outside [σ/2, σ] by more than ``z`` standard
    errors of the paired differences, and then go straight to the loosest grid knob whose predicted loss is at most
    the band's centre c = 3σ/4, taking the loss to scale as the drift the knob allows (``drifts``, one per grid
    knob) to the power ``exponent``: above the band from lo = loss − z·SE, the loosest knob with drift ≤ drift now ×
    (c / lo)^(1/exponent), at least one step tighter; below it from hi = loss + z·SE, the loosest knob with drift ≤
    drift now × (c / hi)^(1/exponent), at least one step looser (the loosest when hi = 0). Each gate's bound is the
    one that asks for the smaller move. ``"scaled"``: the same gates, one step tighter, looser by
    max(1, round(log(c / hi) / log(``step_ratio``))) steps. ``"gated"``: the same gates, one step either way.
    ``"paper"``: one step on the point estimate alone (above σ tighten, below σ/2 loosen). No memory, no discount,
    no holding period: each measurement is acted on by itself."""
    grid: list                 # the knob's grid, sorted ascending
    sigma: float               # target accuracy loss (fraction, e.g. 0.05)
    position: int              # index into grid of the current knob
    tighter_is_lower: bool = True                  # a lower knob communicates more (the algorithm says)
    rule: str = SkewScoutConfig.rule               # every default is the [skewscout] section's
    z: float = SkewScoutConfig.z                   # standard errors a loss must clear an edge of the band by
    step_ratio: float = SkewScoutConfig.step_ratio   # rule "scaled": the factor of loss one grid step is taken to make
    exponent: float = SkewScoutConfig.exponent     # rule "drift": loss ∝ drift ** exponent
    drifts: list | None = None                     # rule "drift": each grid knob's drift (None: the knob values)
    history: list = field(default_factory=list)    # (loss, standard error, knob after) per measurement

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"skewscout.rule {self.rule!r}: use \"drift\" (the band beyond z standard errors of "
                             f"the paired differences, to the knob whose drift predicts the band's centre), "
                             f"\"scaled\" (the same gates, one step in, out by the loss's distance), \"gated\" (the "
                             f"same gates, one step) or \"paper\" (the band on the measured loss alone)")
        if self.step_ratio <= 1:
            raise ValueError(f"skewscout.step_ratio must be > 1 (the factor of loss one grid step makes), "
                             f"got {self.step_ratio}")
        if self.exponent <= 0:
            raise ValueError(f"skewscout.exponent must be > 0 (loss ∝ drift ** exponent), got {self.exponent}")
        self.drifts = [float(d) for d in (self.drifts if self.drifts is not None else self.grid)]
        along = self.drifts if self.tighter_is_lower else self.drifts[::-1]       # from the tightest knob out
        if self.rule == "drift" and (len(self.drifts) != len(self.grid) or any(d <= 0 for d in self.drifts)
                                     or along != sorted(along)):
            raise ValueError(f"skewscout grid {self.grid}: rule \"drift\" needs a positive drift per knob, growing "
                             f"from the tightest to the loosest (got {self.drifts})")

    @classmethod
    def for_algorithm(cls, algo, sigma: float, grid=None, rule: str = SkewScoutConfig.rule,
                      z: float = SkewScoutConfig.z, step_ratio: float = SkewScoutConfig.step_ratio,
                      exponent: float = SkewScoutConfig.exponent) -> Controller:
        g = sorted(grid or algo.knob_grid)
        current = algo.get_knob()
        pos = min(range(len(g)), key=lambda i: abs(g[i] - current))
        drifts = [drift(algo.name, v) for v in g]
        return cls(g, float(sigma), pos, algo.knob_tighter_is_lower, rule, float(z), float(step_ratio),
                   float(exponent), drifts if rule == "drift" else None)

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
        if self.rule == "drift":
            steps = self._drift_steps(lo, hi)
        elif lo > self.sigma:
            steps = -self.looser * self._steps(lo, tighten=True)
        elif hi < self.sigma / 2:
            steps = self.looser * self._steps(hi, tighten=False)
        before = self.position
        self.position = min(max(self.position + steps, 0), len(self.grid) - 1)
        self.history.append((loss, se, self.value))
        return self.position - before

    def _drift_steps(self, lo: float, hi: float) -> int:
        """Rule "drift": the change of grid position to the loosest knob predicted to hold the band's centre."""
        if lo > self.sigma:
            bound, direction = lo, -1
        elif hi < self.sigma / 2:
            bound, direction = hi, 1
        else:
            return 0
        order = self.drifts if self.tighter_is_lower else self.drifts[::-1]     # drift along the grid positions
        here = self.position if self.tighter_is_lower else len(self.grid) - 1 - self.position
        allowed = math.inf if bound <= 0 else order[here] * (0.75 * self.sigma / bound) ** (1.0 / self.exponent)
        fit = max([i for i, d in enumerate(order) if d <= allowed], default=0)
        fit = min(fit, here - 1) if direction < 0 else max(fit, here + 1)
        fit = min(max(fit, 0), len(order) - 1)
        return (fit - here) if self.tighter_is_lower else (here - fit)

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
