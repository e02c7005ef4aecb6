"""The SkewScout hook: when to measure, what the measurement says, and where that moves the knob."""
from __future__ import annotations

import training.skewscout.probes as probes
from training.skewscout.controller import Controller, Schedule, paired_loss
from training.skewscout.settings import SkewScoutConfig


class SkewScout:
    """A trainer hook, called after every iteration. A measurement is due when the ``Schedule`` says (the first
    at ``travel_every``, 1/100 of the run by default; then sooner while the loss moves, later while it holds); it
    happens at the first iteration after that where

    - the next step synchronises the replicas (FedAvg: just before the averaging, where the drift the
      knob allows is largest; a travel right after it would always measure 0) — except the first measurement,
      which travels at once when the first synchronisation is more than ``travel_every`` iterations away (a
      loose FedAvg knob may not average before most of the run is over), and
    - the travel keeps model traffic within ``travel_budget`` × the algorithm's own bytes so far, so that a
      loose knob is not undone by the cost of watching it (None: no cap) — unless it is the first measurement or
      the one after a loosening (``Schedule.urgent``), or ``travel_at_least_every`` iterations have passed
      without one: a loose knob sends little, and without this floor the budget would leave the controller blind
      exactly where drift can grow unseen.

    Pairs rotate (k → k+1+r mod K); both models are scored per example on a fixed sample of the receiving
    partition; loss = mean over pairs of max(0, local accuracy − travelled accuracy), with the standard error of
    the paired differences (``paired_loss``). DGC's replicas are identical (they apply only the exchanged
    average): its models travel as their partitions hold them (``Algorithm.travel_view``, ``probes.held_models``).

    ``measure = "average"`` (not the paper's; FedAvg) scores, instead of a travelled model, the average the
    partitions are replaced by: each keeps its model from the step before the averaging and, once the average has
    arrived, loss = mean over partitions of max(0, kept − average) on their own sample. No bytes, so the travel
    budget does not apply. ``measure = "auto"`` (the default) picks it for FedAvg.

    ``rule`` (``Controller``): "sized" (the default) moves the knob only when the loss is outside [σ/2, σ] by more
    than ``z`` standard errors, by a share of the way to the end of the grid (or to the last knob measured on the
    other side of the band) that grows with how far the loss is out; "paper" one step on the loss alone.

    ``settings`` is the ``[skewscout]`` section (``SkewScoutConfig``, which holds every default and checks them)."""

    key = "skewscout"        # its entry in the checkpoint's hooks

    def __init__(self, algo, settings: SkewScoutConfig | None = None):
        s = settings or SkewScoutConfig()
        if not algo.knob:
            raise ValueError(f"SkewScout needs an algorithm with a communication knob; {algo.name} has none")
        self.controller = Controller.for_algorithm(algo, s.sigma, s.grid, s.rule, s.z, s.step_ratio, s.exponent)
        self.sample_size, self.seed, self.round = int(s.sample_size), int(s.seed), 0
        self.settings = s
        self.schedule: Schedule | None = None      # built on the first call, from the run's length
        self.travel_budget = None if s.travel_budget is None else float(s.travel_budget)
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

    def due(self, state) -> str | None:
        """How to measure now ("travel", "average") or None: not yet."""
        if self.schedule is None:
            self.schedule = Schedule.for_run(self.settings, state.iterations)
        sched, to_sync = self.schedule, state.algorithm.steps_to_sync()
        if not sched.is_due(state.iteration):
            return None
        if to_sync != 1:
            early = self.round == 0 and to_sync > sched.shortest    # the first averaging comes too late
            return "travel" if early else None
        if self.measure == "average":
            return "average"
        if (self.travel_budget is None or sched.urgent
                or state.iteration - self.last_travel >= sched.longest):
            return "travel"
        algo_bytes, travel_bytes = state.bytes_sent()
        cost = state.num_partitions * state.replicas.bytes_per_travel
        return "travel" if travel_bytes + cost <= self.travel_budget * algo_bytes else None

    def __call__(self, state) -> None:
        if self._before is not None:               # the averaging has just happened
            scores = probes.score_against_average(state, self._before, self.sample_size, self.seed)
            self._before = None
        elif (how := self.due(state)) is None:
            return
        elif how == "average":
            self.last_travel, self._before = state.iteration, probes.snapshot_replicas(state)
            return
        else:
            self.last_travel = state.iteration
            scores = probes.travel_and_score(state, self.pairs(state.num_partitions), self.sample_size, self.seed)
        loss, se = paired_loss(scores)
        moved = self.controller.update(loss, se) * self.controller.looser
        self.schedule.measured(state.iteration, loss, se, moved)
        state.algorithm.set_knob(self.controller.value)
        state.record({"skewscout_loss": round(loss, 5), "skewscout_se": round(se, 5),
                      "knob_after": self.controller.value, "travel_at": state.iteration})
        self.round += 1

    def state_dict(self) -> dict:
        return {"round": self.round, "last_travel": self.last_travel, "controller": self.controller.state_dict(),
                "schedule": None if self.schedule is None else self.schedule.state_dict()}

    def load_state_dict(self, s: dict) -> None:
        self.round, self.last_travel = s["round"], s["last_travel"]
        self.controller.load_state_dict(s["controller"])
        if s.get("schedule") is not None:
            self.schedule = Schedule(**s["schedule"])
