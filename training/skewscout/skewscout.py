"""The SkewScout hook: when to measure, what the measurement says, and where that moves the knob."""
from __future__ import annotations

import training.skewscout.probes as probes
from training.skewscout.controller import Controller, paired_loss
from training.skewscout.settings import SkewScoutConfig


class SkewScout:
    """A trainer hook, called after every iteration. A travel is due ``travel_every`` iterations after the
    last one; it happens at the first iteration after that where

    - the next step synchronises the replicas (FedAvg: just before the averaging, where the drift the
      knob allows is largest; a travel right after it would always measure 0), and
    - the travel keeps model traffic within ``travel_budget`` × the algorithm's own bytes so far, so that a
      loose knob is not undone by the cost of watching it (None: no cap) — unless ``travel_at_least_every``
      iterations have passed without one: a loose knob sends little, and without this floor the budget would
      leave the controller blind exactly where drift can grow unseen.

    Pairs rotate (k → k+1+r mod K); both models are scored per example on a fixed sample of the receiving
    partition; loss = mean over pairs of max(0, local accuracy − travelled accuracy), with the standard error of
    the paired differences (``paired_loss``). DGC's replicas are identical (they apply only the exchanged
    average): its models travel as their partitions hold them (``Algorithm.travel_view``, ``probes.held_models``).

    ``measure = "average"`` (not the paper's; FedAvg) scores, instead of a travelled model, the average the
    partitions are replaced by: each keeps its model from the step before the averaging and, once the average has
    arrived, loss = mean over partitions of max(0, kept − average) on their own sample. No bytes, so the travel
    budget does not apply. ``measure = "auto"`` (the default) picks it for FedAvg.

    ``rule`` (``Controller``): "scaled" (the default) moves the knob only when the loss is outside [σ/2, σ] by more
    than ``z`` standard errors, by as many grid steps as the loss is away from the band (``step_ratio``); "gated"
    one step at a time; "paper" one step on the loss alone.

    ``settings`` is the ``[skewscout]`` section (``SkewScoutConfig``, which holds every default and checks them)."""

    key = "skewscout"        # its entry in the checkpoint's hooks

    def __init__(self, algo, settings: SkewScoutConfig | None = None):
        s = settings or SkewScoutConfig()
        if not algo.knob:
            raise ValueError(f"SkewScout needs an algorithm with a communication knob; {algo.name} has none")
        self.controller = Controller.for_algorithm(algo, s.sigma, s.grid, s.rule, s.z, s.step_ratio, s.exponent)
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
        self.last_travel = 0
        self._before = None          # average measure: the local models kept across the averaging
        algo.set_knob(self.controller.value)

    def pairs(self, k: int) -> list[tuple[int, int]]:
        shift = 1 + self.round % max(1, k - 1)
        return [(src, (src + shift) % k) for src in range(k)]

    def due(self, state) -> bool:
        if state.iteration - self.last_travel < self.travel_every or state.algorithm.steps_to_sync() != 1:
            return False
        if (self.measure == "average" or self.travel_budget is None
                or state.iteration - self.last_travel >= self.at_least_every):
            return True
        sent_algorithm, sent_travel = state.bytes_sent()
        cost = state.num_partitions * state.replicas.bytes_per_travel
        return sent_travel + cost <= self.travel_budget * sent_algorithm

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
        loss, se = paired_loss(scores)
        self.controller.update(loss, se)
        state.algorithm.set_knob(self.controller.value)
        state.record({"skewscout_loss": round(loss, 5), "skewscout_se": round(se, 5),
                      "knob_after": self.controller.value, "travel_at": state.iteration})
        self.round += 1

    def state_dict(self) -> dict:
        return {"round": self.round, "last_travel": self.last_travel, "controller": self.controller.state_dict()}

    def load_state_dict(self, s: dict) -> None:
        self.round, self.last_travel = s["round"], s["last_travel"]
        self.controller.load_state_dict(s["controller"])
