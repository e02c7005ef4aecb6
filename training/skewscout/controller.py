"""Keep the skew-induced accuracy loss inside [σ/2, σ] by moving an algorithm's knob one grid step at a time."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

HORIZONS = ("now", "end")


STATE = ("position", "history", "stay", "failures", "blocked_until", "judged", "confirming", "direct")


def noise(loss: float, n: int) -> float:
    """Two standard errors of a loss measured as a fraction of n scored samples."""
    return 2 * math.sqrt(loss * (1 - loss) / max(1, n))


@dataclass
class Controller:
    """``horizon = "now"`` (the paper's) holds the loss measured now inside the band. ``"end"`` holds the loss
    expected at the end of the run, which is what the Oracle is judged on:

    - an algorithm whose knob follows the LR schedule (Gaia's T) tightens by itself at each drop: the loss
      measured now is scaled by what the knob will shrink by before the end;
    - a change since the first measurement of the current stay at this knob (in the same LR phase) that sampling
      noise cannot explain (two standard errors) is carried on: a fall geometrically to the end (FedAvg's loose
      knobs cost much while the models learn fast and little once they settle), a rise one stay-length ahead
      (after a loosening the replicas drift apart slowly, and the loss lags the damage);
    - the first measurement of a stay has no trend yet: a loss above σ there is measured once more before the
      knob tightens (``confirming``; SkewScout travels again at once);
    - a knob left because its loss stayed above σ is not tried again for 2, 4, 8, … measurements (its
      ``failures`` double the wait), so that the controller settles instead of paying for the same lesson.

    ``direct`` keeps the last rule and drops the others: the loss as measured is the loss the end will see, and the
    knob moves when two standard errors of sampling noise cannot bring it back inside the band (SkewScout sets it
    for FedAvg once its hold is over; ``SkewScout`` says why)."""
    grid: list                 # the knob's grid, sorted ascending
    sigma: float               # target accuracy loss (fraction, e.g. 0.05)
    position: int              # index into grid of the current knob
    tighter_is_lower: bool = True                  # a lower knob communicates more (the algorithm says)
    horizon: str = "now"
    history: list = field(default_factory=list)
    stay: list | None = None                        # [iteration, loss, lr] of the current stay's first measurement
    failures: dict = field(default_factory=dict)   # knob value -> times it was left for a loss above σ
    blocked_until: dict = field(default_factory=dict)   # knob value -> update count before which it is not tried
    judged: float | None = None                     # the loss the last step was decided on
    confirming: bool = False                        # horizon "end": the last loss above σ awaits a second look
    direct: bool = False                            # horizon "end": judge the loss as measured (settled FedAvg)

    def __post_init__(self):
        if self.horizon not in HORIZONS:
            raise ValueError(f"skewscout.horizon {self.horizon!r}: use \"now\" (the paper's: the loss measured now) "
                             f"or \"end\" (the loss projected to the end of the run)")

    @classmethod
    def for_algorithm(cls, algo, sigma: float, grid=None, horizon: str = "now") -> Controller:
        g = sorted(grid or algo.knob_grid)
        current = algo.get_knob()
        pos = min(range(len(g)), key=lambda i: abs(g[i] - current))
        return cls(g, float(sigma), pos, algo.knob_tighter_is_lower, horizon)

    @property
    def value(self):
        return self.grid[self.position]

    def project(self, loss: float, iteration: int, end: int, lr: float, shrink: float, n: int) -> tuple[float, bool]:
        """(the loss expected at iteration ``end`` if the knob stays where it is, whether a trend backs it)."""
        projected, trend = loss * shrink, False
        if self.stay and self.stay[2] == lr and self.stay[0] < iteration:
            trend = True
            it0, loss0, _ = self.stay
            se = math.sqrt((loss0 * (1 - loss0) + loss * (1 - loss)) / max(1, n))
            if loss0 - loss > 2 * se:
                projected *= (loss / loss0) ** ((end - iteration) / (iteration - it0))
            elif loss - loss0 > 2 * se:
                projected = min(1.0, projected + (loss - loss0) * shrink)
        else:
            self.stay = [iteration, loss, lr]
        return projected, trend

    def state_dict(self) -> dict:
        """What a checkpoint keeps: where the controller stands and what it has learnt."""
        return {k: getattr(self, k) for k in STATE}

    def load_state_dict(self, state: dict) -> None:
        for k in STATE:
            setattr(self, k, state[k])

    @property
    def looser(self) -> int:
        """The grid step that loosens this knob (+1: the grids run from tight to loose)."""
        return 1 if self.tighter_is_lower else -1

    def hold(self, loss: float, n: int = 1, ceiling: int | None = None) -> int:
        """SkewScout's hold (FedAvg before the first LR drop): never tighten; loosen one step, up to grid index
        ``ceiling``, when the loss is below σ/2 by more than two standard errors. Returns the step taken."""
        looser = self.looser
        step, moved = 0, self.position + looser
        allowed = 0 <= moved < len(self.grid) and (ceiling is None or (moved - ceiling) * looser <= 0)
        if allowed and loss + noise(loss, n) < self.sigma / 2:
            self.position, step = moved, looser
        self.history.append((loss, self.value))
        self.judged = loss
        return step

    def update(self, loss: float, *, iteration: int = 0, end: int = 0, lr: float = 1.0, shrink: float = 1.0,
               n: int = 1) -> int:
        """One grid step: tighten above σ, loosen below σ/2, stay inside the band. Returns the step taken.
        The keyword arguments say where the run stands (``shrink``: the factor the knob in effect shrinks by
        before the end, 1 unless it follows the LR); only horizon "end" uses them."""
        projects = self.horizon == "end" and not self.direct
        judged, trend = self.project(loss, iteration, end, lr, shrink, n) if projects else (loss, True)
        # direct: the band's edges widened by two standard errors, so that sampling noise alone moves nothing
        margin = noise(loss, n) if self.direct else 0.0
        step, looser = 0, self.looser
        tighter = -looser
        end_horizon = self.horizon == "end"
        if judged - margin > self.sigma:
            act = not end_horizon or trend or self.confirming
            step = tighter if act else 0
        elif judged + margin < self.sigma / 2:
            step = looser
        self.confirming = projects and judged > self.sigma and step == 0
        moved = min(max(self.position + step, 0), len(self.grid) - 1)
        count = len(self.history)
        if end_horizon and step == looser and count < self.blocked_until.get(str(self.grid[moved]), 0):
            moved = self.position                          # that knob failed recently: wait longer
        if end_horizon and moved != self.position:
            if step == tighter:
                v = str(self.value)
                self.failures[v] = self.failures.get(v, 0) + 1
                self.blocked_until[v] = count + 2 ** self.failures[v]
            self.stay = None
        self.position = moved
        self.history.append((loss, self.value))
        self.judged = judged
        return step
