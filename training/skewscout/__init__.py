"""SkewScout: models travel between partitions to measure what label skew costs, and each algorithm's
communication knob is moved to keep that loss inside a target band."""
from __future__ import annotations

from training.skewscout.controller import Controller

DEFAULT_TRAVEL_BUDGET = 0.1      # model travel may cost this share of the algorithm's own bytes
DEFAULT_MEASURE = "auto"         # FedAvg's average, model travel otherwise
DEFAULT_HORIZON = "end"          # the loss projected to the end of the run


class SkewScout:
    """A trainer hook, called after every iteration. A travel is due ``travel_every`` iterations after the
    last one; it happens at the first iteration after that where

    - the next step synchronises the replicas (FedAvg: just before the averaging, where the drift the
      knob allows is largest; a travel right after it would always measure 0), and
    - the travel keeps model traffic within ``travel_budget`` × the algorithm's own bytes so far, so that a
      loose knob is not undone by the cost of watching it (None: no cap) — unless ``travel_at_least_every``
      iterations have passed without one: a loose knob sends little, and without this floor the budget would
      leave the controller blind exactly where drift can grow unseen.

    Pairs rotate (k → k+1+r mod K); loss = mean over pairs of max(0, local accuracy − travelled accuracy)
    on a fixed sample of the receiving partition.

    ``measure = "average"`` (not the paper's; FedAvg) scores, instead of a travelled model, the average the
    partitions are replaced by: each keeps its model from the step before the averaging and, once the average has
    arrived, loss = mean over partitions of max(0, kept − average) on their own sample. FedAvg delivers the
    average, which skew hurts far less than the drifted models that travel sees, and every partition receives it
    anyway: no bytes, so the travel budget does not apply. ``measure = "auto"`` (the default) picks it for FedAvg.

    ``horizon`` says which loss the controller holds inside the band: "now" (the paper's) the loss measured now,
    "end" (the default) the loss projected to the end of the run, which is what the Oracle is judged on
    (``Controller`` says how).

    Horizon "end" holds an algorithm that delivers an average (FedAvg) until the first LR drop (half-way at a
    constant LR): its knob starts where configured, never tightens, and loosens only when the loss is below σ/2
    beyond sampling noise (to at most ``travel_at_least_every`` local iterations: the loss is measured only at an
    averaging); from the drop on the loss as measured moves the knob (``Controller.direct``). Before the drop the
    loss is high at every knob that saves anything, the Oracle's included, and later rounds repair the average
    (docs/training.md has the figures)."""

    __name__ = "skewscout"

    def __init__(self, algo, sigma: float = 0.05, sample_size: int = 200, seed: int = 0, grid=None,
                 travel_every: int = 100, travel_budget: float | None = DEFAULT_TRAVEL_BUDGET,
                 travel_at_least_every: int | None = None, measure: str = DEFAULT_MEASURE,
                 horizon: str = DEFAULT_HORIZON):
        if not algo.knob:
            raise ValueError(f"SkewScout needs an algorithm with a communication knob; {algo.name} has none")
        if int(travel_every) < 1:
            raise ValueError(f"skewscout.travel_every must be >= 1, got {travel_every}")
        if travel_budget is not None and float(travel_budget) <= 0:
            raise ValueError(f"skewscout.travel_budget must be > 0 (a fraction of the algorithm's bytes), "
                             f"got {travel_budget}; leave it out for no cap")
        self.controller = Controller.for_algorithm(algo, sigma, grid, horizon)
        self.sample_size, self.seed, self.round = int(sample_size), int(seed), 0
        self.travel_every = int(travel_every)
        self.travel_budget = None if travel_budget is None else float(travel_budget)
        self.at_least_every = int(travel_at_least_every or 5 * self.travel_every)
        if self.at_least_every < self.travel_every:
            raise ValueError(f"skewscout.travel_at_least_every ({self.at_least_every}) must be >= travel_every "
                             f"({self.travel_every})")
        if measure not in ("auto", "travel", "average"):
            raise ValueError(f"skewscout.measure {measure!r}: use \"auto\" (average for FedAvg, travel otherwise), "
                             f"\"travel\" (the paper's model travel) or \"average\"")
        if measure == "auto":
            measure = "average" if algo.delivers_average else "travel"
        if measure == "average" and not algo.delivers_average:
            raise ValueError(f"skewscout.measure \"average\" needs an algorithm that averages (fedavg), not {algo.name}")
        self.measure = measure
        self.holds = self.controller.horizon == "end" and algo.delivers_average
        self.ceiling = None          # the hold's loosest knob: one that averages (is measured) every at_least_every
        if self.holds:
            c, g = self.controller, self.controller.grid
            self.ceiling = max((i for i, v in enumerate(g) if v <= self.at_least_every), default=0)
            c.position, c.direct = min(c.position, self.ceiling), True
        self._settle = None          # iteration from which a holding controller acts (first LR drop or half-way)
        self.last_travel = 0
        self._before = None          # average measure: the local models kept across the averaging
        algo.set_knob(self.controller.value)

    def pairs(self, k: int) -> list[tuple[int, int]]:
        shift = 1 + self.round % max(1, k - 1)
        return [(src, (src + shift) % k) for src in range(k)]

    def due(self, state) -> bool:
        if state.iteration - self.last_travel < self.travel_every or state.algorithm.steps_to_sync() != 1:
            return False
        if (self.measure == "average" or self.travel_budget is None or self.controller.confirming
                or state.iteration - self.last_travel >= self.at_least_every):
            return True
        algo_bytes, travel_bytes = state.bytes_sent()
        cost = state.num_partitions * state.travel_bytes_per_model
        return travel_bytes + cost <= self.travel_budget * algo_bytes

    def __call__(self, state) -> None:
        if self._before is not None:               # the averaging has just happened
            scores = state.score_against_average(self._before, self.sample_size, self.seed)
            self._before = None
        elif not self.due(state):
            return
        elif self.measure == "average":
            self.last_travel, self._before = state.iteration, state.snapshot_replicas()
            return
        else:
            self.last_travel = state.iteration
            scores = state.travel_and_score(self.pairs(state.num_partitions), self.sample_size, self.seed)
        loss = sum(max(0.0, local - travelled) for local, travelled in scores) / len(scores)
        it = state.iteration
        lr, lr_end = state.lr_at(it), state.lr_at(state.iterations - 1)
        shrink = lr_end / lr if state.algorithm.knob_follows_lr else 1.0
        if self.holds and it <= self.settle_at(state):       # a loss measured at the drop was made before it
            self.controller.hold(loss, n=self.sample_size * len(scores), ceiling=self.ceiling)
        else:
            self.controller.update(loss, iteration=it, end=state.iterations, lr=lr, shrink=shrink,
                                   n=self.sample_size * len(scores))
        state.algorithm.set_knob(self.controller.value)
        state.record({"skewscout_loss": round(loss, 5), "skewscout_judged": round(self.controller.judged, 5),
                      "knob_after": self.controller.value, "travel_at": it})
        self.round += 1

    def settle_at(self, state) -> int:
        if self._settle is None:
            lr0 = state.lr_at(0)
            self._settle = next((i for i in range(1, state.iterations) if state.lr_at(i) < lr0),
                                state.iterations // 2)
        return self._settle

    def state(self) -> dict:
        return {"position": self.controller.position, "round": self.round, "history": self.controller.history,
                "last_travel": self.last_travel, "stay": self.controller.stay, "failures": self.controller.failures,
                "blocked_until": self.controller.blocked_until,
                "confirming": self.controller.confirming}

    def load(self, s: dict) -> None:
        self.controller.position, self.round, self.controller.history = s["position"], s["round"], s["history"]
        self.last_travel = s.get("last_travel", 0)
        c = self.controller
        c.stay, c.failures, c.blocked_until = s.get("stay"), dict(s.get("failures", {})), dict(s.get("blocked_until", {}))
        c.confirming = bool(s.get("confirming", False))


def attach(trainer, section: dict) -> SkewScout:
    """Called by the trainer when the config has ``[skewscout] enabled = true``."""
    budget = section.get("travel_budget", DEFAULT_TRAVEL_BUDGET)
    hook = SkewScout(trainer.algo, sigma=float(section.get("sigma", 0.05)),
                     sample_size=int(section.get("sample_size", 200)), seed=int(section.get("seed", 0)),
                     grid=section.get("grid"), travel_every=int(section.get("travel_every", 100)),
                     travel_budget=None if budget in (None, "none", 0) else float(budget),
                     travel_at_least_every=section.get("travel_at_least_every"),
                     measure=str(section.get("measure", DEFAULT_MEASURE)),
                     horizon=str(section.get("horizon", DEFAULT_HORIZON)))
    trainer.add_hook(1, hook)
    return hook


__all__ = ["Controller", "SkewScout", "attach"]
