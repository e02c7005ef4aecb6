"""The SkewScout hook: when to measure, what the measurement says, and where that moves the knob."""
from __future__ import annotations

from training.config import SkewScoutConfig
from training.skewscout import probes
from training.skewscout.controller import Controller


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
    (docs/training.md has the figures).

    ``settings`` is the ``[skewscout]`` section (``SkewScoutConfig``, which holds every default and checks them)."""

    key = "skewscout"        # its entry in the checkpoint's hooks

    def __init__(self, algo, settings: SkewScoutConfig | None = None):
        s = settings or SkewScoutConfig()
        if not algo.knob:
            raise ValueError(f"SkewScout needs an algorithm with a communication knob; {algo.name} has none")
        self.controller = Controller.for_algorithm(algo, s.sigma, s.grid, s.horizon)
        self.sample_size, self.seed, self.round = int(s.sample_size), int(s.seed), 0
        self.travel_every = int(s.travel_every)
        self.travel_budget = None if s.travel_budget is None else float(s.travel_budget)
        self.at_least_every = int(s.travel_at_least_every)
        measure = s.measure
        if measure == "auto":
            measure = "average" if algo.delivers_average else "travel"
        if measure == "average" and not algo.delivers_average:
            raise ValueError(f"skewscout.measure \"average\" needs an algorithm that averages (fedavg), "
                             f"not {algo.name}")
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
            scores = probes.score_against_average(state, self._before, self.sample_size, self.seed)
            self._before = None
        elif not self.due(state):
            return
        elif self.measure == "average":
            self.last_travel, self._before = state.iteration, probes.snapshot_replicas(state)
            return
        else:
            self.last_travel = state.iteration
            scores = probes.travel_and_score(state, self.pairs(state.num_partitions), self.sample_size, self.seed)
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

    def state_dict(self) -> dict:
        return {"round": self.round, "last_travel": self.last_travel, "controller": self.controller.state_dict()}

    def load_state_dict(self, s: dict) -> None:
        self.round, self.last_travel = s["round"], s["last_travel"]
        self.controller.load_state_dict(s["controller"])
