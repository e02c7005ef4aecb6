"""Keep the skew-induced accuracy loss inside [σ/2, σ]: where the knob goes after a measurement (``Controller``)
and when the next measurement is due (``Schedule``). Both are pure: SkewScout (skewscout.py) measures and wires."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import torch

from training.skewscout.settings import SkewScoutConfig

RULES = ("sized", "drift", "scaled", "gated", "paper")
STATE = ("position", "history")
MARKS = ("too_loose", "fine")          # rule "sized": what the last measurements showed of the grid (see below)


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
    """``rule = "sized"`` (the default, SkewScoutConfig.rule): act only on a loss outside [σ/2, σ] by more than
    ``z`` standard errors of the paired differences (lo = loss − z·SE, hi = loss + z·SE), and move by as much as
    the loss is out. Above the band (lo > σ) the knob goes the share 1 − σ/lo of the way from where it is to the
    loosest knob last measured inside or below the band (the tightest knob when there is none), at least one step:
    a loss of 1.0 against σ = 0.05 goes 95% of the way at once. Below it (hi < σ/2) the knob goes the share
    1 − hi/(σ/2) of the way to one step short of the tightest knob last measured above the band (the loosest knob
    when there is none), at least one step: hi = 0 goes all the way. A measurement that contradicts a mark (a knob
    measured inside or below the band at or beyond the "too loose" one, or above it at or before the "fine" one)
    clears it, so the marks follow a loss that changes during the run. Positions count along the grid from the
    tightest knob; these two marks (``too_loose``, ``fine``) are all the memory there is.

    The other rules (kept for comparison; none keeps marks): ``"drift"``: the same gates, then straight to the
    loosest knob whose predicted loss is the band's centre c = 3σ/4, taking the loss to scale as the drift the knob
    allows (``drifts``: ``Algorithm.drift`` of each grid knob) to the power ``exponent``, at least one step.
    ``"scaled"`` (round 3's default): the same gates, one step tighter, looser by
    max(1, round(log(c / hi) / log(``step_ratio``))) steps. ``"gated"``: the same gates, one step either way.
    ``"paper"``: one step on the point estimate alone (above σ tighten, below σ/2 loosen)."""
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
    too_loose: int | None = None                   # rule "sized": tightness rank last measured above the band
    fine: int | None = None                        # rule "sized": tightness rank last measured inside or below it

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"skewscout.rule {self.rule!r}: use \"sized\" (beyond z standard errors of the band, "
                             f"a move sized by how far the loss is out), \"drift\" (the same gates, to the knob "
                             f"whose drift predicts the band's centre), \"scaled\" (one step in, out by the "
                             f"loss's distance), \"gated\" (one step) or \"paper\" (the band on the loss alone)")
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
        drifts = [algo.drift(v) for v in g] if rule == "drift" else None      # the algorithm says (Algorithm.drift)
        return cls(g, float(sigma), pos, algo.knob_tighter_is_lower, rule, float(z), float(step_ratio),
                   float(exponent), drifts)

    @property
    def value(self):
        return self.grid[self.position]

    @property
    def looser(self) -> int:
        """The grid step that loosens this knob (+1 when a lower knob communicates more)."""
        return 1 if self.tighter_is_lower else -1

    def rank(self, position: int) -> int:
        """A grid position counted from the tightest knob (0) out (its own inverse)."""
        return position if self.tighter_is_lower else len(self.grid) - 1 - position

    def gates(self, loss: float, se: float) -> int:
        """+1 when the loss is above the band beyond ``z`` standard errors, -1 below it, 0 otherwise (the paper's
        rule: on the loss alone)."""
        margin = 0.0 if self.rule == "paper" else self.z * se
        return 1 if loss - margin > self.sigma else -1 if loss + margin < self.sigma / 2 else 0

    def update(self, loss: float, se: float = 0.0) -> int:
        """One measurement (loss and its standard error): the grid steps it calls for (0 inside the band).
        Returns the change of grid position."""
        margin = 0.0 if self.rule == "paper" else self.z * se
        lo, hi = loss - margin, loss + margin
        steps = 0
        if self.rule == "sized":
            steps = self._sized_steps(lo, hi)
        elif self.rule == "drift":
            steps = self._drift_steps(lo, hi)
        elif lo > self.sigma:
            steps = -self.looser * self._steps(lo, tighten=True)
        elif hi < self.sigma / 2:
            steps = self.looser * self._steps(hi, tighten=False)
        before = self.position
        self.position = min(max(self.position + steps, 0), len(self.grid) - 1)
        self.history.append((loss, se, self.value))
        return self.position - before

    def _sized_steps(self, lo: float, hi: float) -> int:
        """Rule "sized": the change of grid position, from the marks and how far the bound is out of the band."""
        here, last = self.rank(self.position), len(self.grid) - 1
        if lo > self.sigma:
            self.too_loose = here
            if self.fine is not None and self.fine >= here:
                self.fine = None
            floor = self.fine if self.fine is not None else 0
            to = here - max(1, round((1 - self.sigma / lo) * (here - floor)))
        else:
            if self.too_loose is not None and self.too_loose <= here:
                self.too_loose = None
            self.fine = here
            if hi >= self.sigma / 2:
                return 0
            ceiling = self.too_loose - 1 if self.too_loose is not None else last
            to = here + max(1, round((1 - hi / (self.sigma / 2)) * (ceiling - here)))
        to = min(max(to, 0), last)
        return self.rank(to) - self.position

    def _drift_steps(self, lo: float, hi: float) -> int:
        """Rule "drift": the change of grid position to the loosest knob predicted to hold the band's centre."""
        if lo > self.sigma:
            bound, direction = lo, -1
        elif hi < self.sigma / 2:
            bound, direction = hi, 1
        else:
            return 0
        order = self.drifts if self.tighter_is_lower else self.drifts[::-1]     # drift along the grid positions
        here = self.rank(self.position)
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
        """What a checkpoint keeps: where the controller stands, what it measured and its marks."""
        return {k: getattr(self, k) for k in STATE + MARKS}

    def load_state_dict(self, state: dict) -> None:
        for k in STATE:
            setattr(self, k, state[k])
        for k in MARKS:
            setattr(self, k, state.get(k))


@dataclass
class Schedule:
    """When the next measurement is due, from the run and what the last one showed. The first is due at
    ``shortest``; after a measurement that moved the knob, or whose loss differs from the one before by more
    than ``z`` standard errors of the difference, the next is due ``shortest`` iterations later; after one that
    held the knob on a steady loss, the gap grows by ``backoff`` up to ``longest``. ``urgent`` (the first
    measurement, and the one after a loosening) is not held back by the travel budget: a knob just loosened is
    checked at once, whatever it costs."""
    shortest: int                   # iterations: the first measurement, and the gap while the loss moves
    longest: int                    # the longest gap
    backoff: float = SkewScoutConfig.backoff
    z: float = SkewScoutConfig.z
    gap: int = 0                    # the gap after the last measurement
    next_at: int = 0                # the iteration the next measurement is due at
    urgent: bool = True
    last: tuple | None = None       # (loss, standard error) of the last measurement

    def __post_init__(self):
        self.shortest, self.longest = max(1, int(self.shortest)), max(1, int(self.longest), int(self.shortest))
        self.next_at = self.next_at or self.shortest

    @classmethod
    def for_run(cls, settings: SkewScoutConfig, iterations: int) -> Schedule:
        """The [skewscout] section's gaps, or those derived from the run's length where it leaves them out."""
        shortest, longest = settings.gaps(iterations)
        return cls(shortest, longest, float(settings.backoff), float(settings.z))

    def is_due(self, iteration: int) -> bool:
        return iteration >= self.next_at

    def measured(self, iteration: int, loss: float, se: float, moved: int) -> None:
        """After a measurement at ``iteration`` that moved the knob ``moved`` grid steps looser (negative:
        tighter)."""
        steady = self.last is not None and abs(loss - self.last[0]) <= self.z * math.hypot(se, self.last[1])
        self.gap = (min(self.longest, max(self.shortest, math.ceil(self.gap * self.backoff)))
                    if moved == 0 and steady else self.shortest)
        self.next_at, self.urgent, self.last = iteration + self.gap, moved > 0, (loss, se)

    def state_dict(self) -> dict:
        """Everything: a checkpoint rebuilds the schedule as ``Schedule(**state)``."""
        return dataclasses.asdict(self)
