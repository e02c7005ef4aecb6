"""Seeded minibatches of one partition."""
from __future__ import annotations

import numpy as np


class Sampler:
    """Seeded epoch permutations of one partition; its state is part of the checkpoint."""

    def __init__(self, indices: np.ndarray, seed: int, replica: int):
        self.indices = np.asarray(indices)
        self.rng = np.random.default_rng([seed, replica])
        self.perm, self.pos = self.rng.permutation(self.indices), 0

    def next(self, b: int) -> np.ndarray:
        out = []
        while len(out) < b:
            if self.pos >= len(self.perm):
                self.perm, self.pos = self.rng.permutation(self.indices), 0
            take = self.perm[self.pos: self.pos + b - len(out)]
            self.pos += len(take)
            out.extend(take.tolist())
        return np.array(out)

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "perm": self.perm, "pos": self.pos}

    def load_state_dict(self, s: dict) -> None:
        self.rng.bit_generator.state, self.perm, self.pos = s["rng"], s["perm"], s["pos"]
