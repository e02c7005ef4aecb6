"""SkewScout: models travel between partitions to measure what label skew costs, and each algorithm's
communication knob is moved to keep that loss inside a target band."""
from __future__ import annotations

from training.skewscout.controller import Controller


class SkewScout:
    """A trainer hook: every ``travel_every`` iterations, rotating pairs (k → k+1+r mod K); loss = mean over
    pairs of max(0, local accuracy − travelled accuracy) on a fixed sample of the receiving partition."""

    __name__ = "skewscout"

    def __init__(self, algo, sigma: float = 0.05, sample_size: int = 200, seed: int = 0, grid=None):
        if not algo.knob:
            raise ValueError(f"SkewScout needs an algorithm with a communication knob; {algo.name} has none")
        self.controller = Controller.for_algorithm(algo, sigma, grid)
        self.sample_size, self.seed, self.round = int(sample_size), int(seed), 0
        algo.set_knob(self.controller.value)

    def pairs(self, k: int) -> list[tuple[int, int]]:
        shift = 1 + self.round % max(1, k - 1)
        return [(src, (src + shift) % k) for src in range(k)]

    def __call__(self, state) -> None:
        scores = state.travel_and_score(self.pairs(state.num_partitions), self.sample_size, self.seed)
        loss = sum(max(0.0, local - travelled) for local, travelled in scores) / len(scores)
        self.controller.update(loss)
        state.algorithm.set_knob(self.controller.value)
        state.record({"skewscout_loss": round(loss, 5), "knob_after": self.controller.value})
        self.round += 1

    def state(self) -> dict:
        return {"position": self.controller.position, "round": self.round, "history": self.controller.history}

    def load(self, s: dict) -> None:
        self.controller.position, self.round, self.controller.history = s["position"], s["round"], s["history"]


def attach(trainer, section: dict) -> SkewScout:
    """Called by the trainer when the config has ``[skewscout] enabled = true``."""
    hook = SkewScout(trainer.algo, sigma=float(section.get("sigma", 0.05)),
                     sample_size=int(section.get("sample_size", 200)), seed=int(section.get("seed", 0)),
                     grid=section.get("grid"))
    trainer.add_hook(int(section.get("travel_every", 100)), hook)
    return hook


__all__ = ["Controller", "SkewScout", "attach"]
