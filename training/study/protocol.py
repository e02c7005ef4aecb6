"""F4's study protocol, fixed before SkewScout's controller is (re)designed (issue 13, SPEC §10 Decision).

TUNING settings are the only ones a controller's rules and constants may be chosen on; EVALUATION settings judge
it and are never used to choose anything. Between them the evaluation settings differ from the tuning ones in
dataset (MNIST-10k), partitioner (label-exclusive over 3 and 10 partitions, Dirichlet with small α), number of
partitions (3, 5, 8, 10), run length (450 and 1200 iterations), LR schedule (constant, step, cosine) and
σ (0.05 and 0.10). SkewScout is run on every evaluation setting from the tightest, the middle and the loosest knob
of its grid. Runs are short (digits 8×8 and MNIST-10k, GN-LeNet, 300-1200 iterations) so that the whole protocol
fits in a few CPU hours.

Changing this file after a controller has been looked at on the evaluation settings makes the evaluation a tuning
run: the report must say so."""
from __future__ import annotations

from dataclasses import dataclass, field

DIGITS = {"name": "digits", "test_fraction": 0.25}
MNIST = {"name": "mnist", "path": None, "test_fraction": 0.2}   # path: the study's --f4-mnist DIR (idx files)


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

# Round 1 (commit cd1a988) judged the first controller on E1-E4; their results were then seen, so in round 2 they
# joined the tuning group as T3-T6 and E5-E8 took their place. Round 2's results on E5-E8 were seen too (REPORT.md
# of commit 40d40d0), so in round 3 (issue 13, this commit, made before the round-3 controller was run anywhere)
# they join the tuning group as T7-T10, with two longer tuning settings T11-T12, and four new evaluation settings
# E9-E12 take their place. E9-E12 were chosen from static-knob runs only (no SkewScout run, so nothing of a
# controller was seen), so that each algorithm's Oracle lies inside its grid: round 2's digits settings of 300
# iterations were so easy that "communicate almost nothing" was the Oracle in 7 of 8 cases. Partial skew was tried
# that way and left out: MNIST s=0.8 K=3 (450 iterations) and digits s=0.95 K=3 (1200 and 1800) reached the target
# with FedAvg at every Iter_local up to the cap (its Oracle on the loosest end), as did MNIST Dirichlet α=0.1 K=4.
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
    F4Setting("T7 digits, Dirichlet α=0.3, K=8, cosine LR, σ=0.05 (round 2's E5)", "tuning",
              {"name": "dirichlet", "num_partitions": 8, "alpha": 0.3}, COSINE, 300, 0.05),
    F4Setting("T8 digits, skew s=0.6, K=3, step LR, σ=0.10 (round 2's E6)", "tuning",
              {"name": "skew", "num_partitions": 3, "skew": 0.6}, STEP, 300, 0.10),
    F4Setting("T9 digits, Dirichlet α=0.05, K=4, constant LR, σ=0.10 (round 2's E7)", "tuning",
              {"name": "dirichlet", "num_partitions": 4, "alpha": 0.05}, CONSTANT, 300, 0.10),
    F4Setting("T10 digits, skew s=0.9, K=3, cosine LR, σ=0.05 (round 2's E8)", "tuning",
              {"name": "skew", "num_partitions": 3, "skew": 0.9}, COSINE, 300, 0.05),
    F4Setting("T11 digits, label-exclusive, K=8, step LR, σ=0.05, 1200 iterations", "tuning",
              {"name": "label-exclusive", "num_partitions": 8}, STEP, 1200, 0.05),
    F4Setting("T12 digits, Dirichlet α=0.1, K=10, constant LR, σ=0.10, 1200 iterations", "tuning",
              {"name": "dirichlet", "num_partitions": 10, "alpha": 0.1}, CONSTANT, 1200, 0.10),
)

EVALUATION = (
    F4Setting("E9 digits, label-exclusive, K=10, constant LR, σ=0.05, 1200 iterations", "evaluation",
              {"name": "label-exclusive", "num_partitions": 10}, CONSTANT, 1200, 0.05),
    F4Setting("E10 MNIST-10k, label-exclusive, K=5, step LR, σ=0.10, 450 iterations", "evaluation",
              {"name": "label-exclusive", "num_partitions": 5}, STEP, 450, 0.10, dict(MNIST)),
    F4Setting("E11 digits, Dirichlet α=0.05, K=8, cosine LR, σ=0.10, 1200 iterations", "evaluation",
              {"name": "dirichlet", "num_partitions": 8, "alpha": 0.05}, COSINE, 1200, 0.10),
    F4Setting("E12 digits, label-exclusive, K=3, constant LR, σ=0.05, 1200 iterations", "evaluation",
              {"name": "label-exclusive", "num_partitions": 3}, CONSTANT, 1200, 0.05),
)

SETTINGS = {s.name: s for s in TUNING + EVALUATION}

# Grids wide enough that the Oracle lies inside them: Gaia's T0 from 0.01 (an update is sent once it is 1% of its
# weight) to 20 (almost never); FedAvg's Iter_local from 1 (BSP's bytes) to 500, cut for each setting where a run would
# average fewer than MIN_AVERAGINGS times.
GAIA_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
FEDAVG_GRID = (1, 2, 5, 10, 20, 50, 100, 200, 500)
MIN_AVERAGINGS = 3
GRIDS = {"gaia": GAIA_GRID, "fedavg": FEDAVG_GRID}


def grid_for(setting: F4Setting, algo: str) -> tuple:
    """The algorithm's grid on this setting: FedAvg's stops where a run would average fewer than MIN_AVERAGINGS
    times."""
    if algo == "fedavg":
        return tuple(v for v in FEDAVG_GRID if v * MIN_AVERAGINGS <= setting.iterations)
    return GRIDS[algo]


def start_knobs(grid: tuple) -> dict[str, float | int]:
    """Where SkewScout starts on an evaluation setting: the tightest, the middle and the loosest knob."""
    return {"tightest": grid[0], "middle": grid[len(grid) // 2], "loosest": grid[-1]}
