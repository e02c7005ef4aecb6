"""The ``[solver]`` section: learning rate, its schedule, momentum, weight decay, batch size, length. Its own
module, free of torch and of the algorithms, so that an algorithm takes its defaults from here and the config
(which looks the algorithms up) does not import back into them."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

LR_SCHEDULES = ("step", "cosine")


@dataclass
class SolverConfig:
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 20                             # per partition
    iterations: int = 1000
    lr_schedule: str = "step"                        # step: × lr_gamma at each of lr_steps | cosine: to 0 at the end
    lr_steps: list = field(default_factory=lambda: [0.5, 0.75])    # fractions of the run where the LR drops
    lr_gamma: float = 0.1

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule {self.lr_schedule!r}: use \"step\" (lr_steps = [] keeps it constant) "
                             f"or \"cosine\"")
        if self.lr_schedule == "cosine" and self.lr_steps:
            raise ValueError("lr_schedule \"cosine\" takes no lr_steps: set lr_steps = []")

    def lr_at(self, iteration: int) -> float:
        """The learning rate of one iteration (0-based) of the run."""
        if self.lr_schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * iteration / self.iterations))
        return self.lr * self.lr_gamma ** sum(iteration >= int(f * self.iterations) for f in self.lr_steps)
