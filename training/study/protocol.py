"""F4's study protocol, fixed before SkewScout's controller is (re)designed (issue 13, SPEC §10 Decision).

TUNING settings are the only ones a controller's rules and constants may be chosen on; EVALUATION settings judge
it and are never used to choose anything. Between them the evaluation settings differ from the tuning ones in
partitioner (Dirichlet with small α, partial skew s), number of partitions (3 and 8), LR schedule (constant, step,
cosine) and σ (0.05 and 0.10). SkewScout is run on every evaluation setting from the tightest, the middle and the
loosest knob of its grid. Runs are short (digits 8×8, GN-LeNet) so that the whole protocol fits in CPU hours.

Changing this file after a controller has been looked at on the evaluation settings makes the evaluation a tuning
run: the report must say so."""
from __future__ import annotations

from dataclasses import dataclass, field

DIGITS = {"name": "digits", "test_fraction": 0.25}


@dataclass(frozen=True)
class F4Setting:
    """One F4 setting: the data, its partitions, the LR schedule, the run length and SkewScout's σ."""
    name: str
    group: str                        # "tuning" | "evaluation"
    partition: dict                   # [partition] section (name, num_partitions, partitioner options)
    schedule: dict                    # [solver] overrides for the LR schedule
    iterations: int
    sigma: float
    data: dict = field(default_factory=lambda: dict(DIGITS))

    @property
    def id(self) -> str:
        """The setting's short name (E1, T1, ...): the first word of its name."""
        return self.name.split()[0]


CONSTANT = {"lr_steps": []}
STEP = {"lr_steps": [0.5, 0.75]}
COSINE = {"lr_schedule": "cosine", "lr_steps": []}

# Round 1 (commit cd1a988) judged the first controller on E1-E4; their results were then seen, so in round 2
# (issue 13, this commit, made before the round-2 controller) they join the tuning group as T3-T6 and four new
# evaluation settings E5-E8, never run before, take their place.
TUNING = (
    F4Setting("T1 digits, label-exclusive, K=5, step LR, σ=0.05", "tuning",
              {"name": "label-exclusive", "num_partitions": 5}, STEP, 300, 0.05),
    F4Setting("T2 digits, label-exclusive, K=5, constant LR, σ=0.05", "tuning",
              {"name": "label-exclusive", "num_partitions": 5}, CONSTANT, 300, 0.05),
    F4Setting("T3 digits, Dirichlet α=0.1, K=3, constant LR, σ=0.05 (round 1's E1)", "tuning",
              {"name": "dirichlet", "num_partitions": 3, "alpha": 0.1}, CONSTANT, 300, 0.05),
    F4Setting("T4 digits, skew s=0.8, K=8, cosine LR, σ=0.10 (round 1's E2)", "tuning",
              {"name": "skew", "num_partitions": 8, "skew": 0.8}, COSINE, 300, 0.10),
    F4Setting("T5 digits, label-exclusive, K=3, cosine LR, σ=0.10 (round 1's E3)", "tuning",
              {"name": "label-exclusive", "num_partitions": 3}, COSINE, 300, 0.10),
    F4Setting("T6 digits, Dirichlet α=0.1, K=8, step LR, σ=0.05 (round 1's E4)", "tuning",
              {"name": "dirichlet", "num_partitions": 8, "alpha": 0.1}, STEP, 300, 0.05),
)

EVALUATION = (
    F4Setting("E5 digits, Dirichlet α=0.3, K=8, cosine LR, σ=0.05", "evaluation",
              {"name": "dirichlet", "num_partitions": 8, "alpha": 0.3}, COSINE, 300, 0.05),
    F4Setting("E6 digits, skew s=0.6, K=3, step LR, σ=0.10", "evaluation",
              {"name": "skew", "num_partitions": 3, "skew": 0.6}, STEP, 300, 0.10),
    F4Setting("E7 digits, Dirichlet α=0.05, K=4, constant LR, σ=0.10", "evaluation",
              {"name": "dirichlet", "num_partitions": 4, "alpha": 0.05}, CONSTANT, 300, 0.10),
    F4Setting("E8 digits, skew s=0.9, K=3, cosine LR, σ=0.05", "evaluation",
              {"name": "skew", "num_partitions": 3, "skew": 0.9}, COSINE, 300, 0.05),
)

SETTINGS = {s.name: s for s in TUNING + EVALUATION}

# grids wide enough that the Oracle can lie strictly inside them: Gaia's T0 goes past the paper's 0.3 (at T0 = 2 an
# update is sent only once it has grown to twice the weight); FedAvg's Iter_local stops at 100, which still leaves
# 3 averagings in a 300-iteration run
GAIA_GRID = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)
FEDAVG_GRID = (2, 5, 10, 20, 50, 100)
GRIDS = {"gaia": GAIA_GRID, "fedavg": FEDAVG_GRID}


def start_knobs(grid: tuple) -> dict[str, float | int]:
    """Where SkewScout starts on an evaluation setting: the tightest, the middle and the loosest knob."""
    return {"tightest": grid[0], "middle": grid[len(grid) // 2], "loosest": grid[-1]}
