"""F4's study protocol, fixed before SkewScout's controller is (re)designed (issues 13 and 23, SPEC §10 Decision).

TUNING settings are the only ones a controller's rules and constants may be chosen on; EVALUATION settings judge
it and are never used to choose anything. Round 4's evaluation settings differ from the tuning ones in dataset
(MNIST-10k, the product's own geographic export), partitioner (Dirichlet α = 0.02 and α = 0.1 over 16 partitions,
the export's continents), number of partitions (4 to 16), LR schedule (constant, step, cosine) and σ (0.05 and
0.10). SkewScout is run on every evaluation setting from the tightest, the middle and the loosest knob of each
algorithm's grid (Gaia, FedAvg, DGC). Runs are short (digits 8×8, MNIST-10k, 16-px photos; GN-LeNet; 300-600
iterations) so that the whole protocol fits in a few CPU hours.

Changing this file after a controller has been looked at on the evaluation settings makes the evaluation a tuning
run: the report must say so."""
from __future__ import annotations

from dataclasses import dataclass, field

DIGITS = {"name": "digits", "test_fraction": 0.25}
MNIST = {"name": "mnist", "path": None, "test_fraction": 0.2}   # path: the study's --f4-mnist DIR (idx files)
GEO = {"name": "manifest", "path": None, "img_size": 16}       # path: the study's --manifest (the export's own)


@dataclass(frozen=True)
class F4Setting:
    """One F4 setting: the data, its partitions, the LR schedule, the run length and SkewScout's σ."""
    name: str
    group: str                        # "tuning" | "evaluation"
    partition: dict                   # [partition] section (name, num_partitions, partitioner options); {}: the data's
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
# joined the tuning group as T3-T6 and E5-E8 took their place. Round 2's E5-E8 joined as T7-T10 in round 3 (with
# T11-T12). Round 3's E9-E12 were seen in its report (commit a4b1ddc), so in round 4 (issue 23, this commit, made
# before the round-4 controller was run anywhere) they join the tuning group as T13-T16, and four new evaluation
# settings E13-E16 take their place. E13-E15 were chosen from static-knob runs only (seed 0, no SkewScout run: nothing
# of a controller was seen), wanting for each of Gaia, FedAvg and DGC the loosest knob of its grid below the target
# (95% of BSP's accuracy) and a knob looser than the tightest at or above it, so that the Oracle lies strictly inside
# the grid. What those runs showed (accuracy at seed 0; target = 0.95 x BSP's):
#   E13 (BSP 98.9%, target 94.0%): Gaia T0 = 20 29.1%, 5 29.1%, 0.5 33.0% (the skew is so strong that Gaia needs a
#       tight threshold); FedAvg Iter_local 10 98.4%, 100 68.2%, 200 52.6%; DGC sparsity 0.99 98.7%, 0.999 93.3%.
#   E14 (BSP 98.4%, target 93.5%): FedAvg 10 97.0%, 100 85.9%; DGC 0.9999 11.3%.
#   E15: first tried with step LR over 450 iterations (BSP 98.2%, target 93.3%): Gaia 20 71.1%, DGC 0.99 98.2%, but
#       FedAvg at its loosest knob (100) reached 95.8% (the Oracle on the grid's end), so E15 runs 600 iterations at
#       a constant LR, which lets FedAvg's grid reach 200 and keeps the drift up to the end: BSP 98.2% (target
#       93.3%), FedAvg 200 90.4%.
#   Checks not finished when this was committed (the machine is shared; each run took 4-11 minutes): a Gaia knob
#   looser than 0.01 reaching the target on E13-E15, Gaia 20 and DGC 0.9999 on E15 at 600 constant-LR iterations,
#   DGC 0.999 and Gaia 20 on E14, and all of E16: the geographic export at the scale the issue asks for (an
#   owner-grouped test split of at least 500 photos, `flickr-mammal demo --scale 0.02`) did not finish on this
#   machine; E16 reads whatever export the study is given (--manifest) and its report names it. The study's own
#   static runs (3 seeds) show each Oracle's place in
#   the grid, and the report flags any on an end: those are not controller runs, so nothing of round 4's
#   controller is seen before it is judged.
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
    F4Setting("T13 digits, label-exclusive, K=10, constant LR, σ=0.05, 1200 iterations (round 3's E9)", "tuning",
              {"name": "label-exclusive", "num_partitions": 10}, CONSTANT, 1200, 0.05),
    F4Setting("T14 MNIST-10k, label-exclusive, K=5, step LR, σ=0.10, 450 iterations (round 3's E10)", "tuning",
              {"name": "label-exclusive", "num_partitions": 5}, STEP, 450, 0.10, dict(MNIST)),
    F4Setting("T15 digits, Dirichlet α=0.05, K=8, cosine LR, σ=0.10, 1200 iterations (round 3's E11)", "tuning",
              {"name": "dirichlet", "num_partitions": 8, "alpha": 0.05}, COSINE, 1200, 0.10),
    F4Setting("T16 digits, label-exclusive, K=3, constant LR, σ=0.05, 1200 iterations (round 3's E12)", "tuning",
              {"name": "label-exclusive", "num_partitions": 3}, CONSTANT, 1200, 0.05),
)

EVALUATION = (
    F4Setting("E13 digits, Dirichlet α=0.02, K=6, constant LR, σ=0.10, 600 iterations", "evaluation",
              {"name": "dirichlet", "num_partitions": 6, "alpha": 0.02}, CONSTANT, 600, 0.10),
    F4Setting("E14 MNIST-10k, label-exclusive, K=4, cosine LR, σ=0.05, 450 iterations", "evaluation",
              {"name": "label-exclusive", "num_partitions": 4}, COSINE, 450, 0.05, dict(MNIST)),
    F4Setting("E15 digits, Dirichlet α=0.1, K=16, constant LR, σ=0.05, 600 iterations", "evaluation",
              {"name": "dirichlet", "num_partitions": 16, "alpha": 0.1}, CONSTANT, 600, 0.05),
    F4Setting("E16 geographic (the export's continents), step LR, σ=0.10, 300 iterations", "evaluation",
              {}, STEP, 300, 0.10, dict(GEO)),
)

SETTINGS = {s.name: s for s in TUNING + EVALUATION}

# Grids wide enough that the Oracle lies inside them: Gaia's T0 from 0.01 (an update is sent once it is 1% of its
# weight) to 20 (almost never); FedAvg's Iter_local from 1 (BSP's bytes) to 500, cut for each setting where a run would
# average fewer than MIN_AVERAGINGS times; DGC's sparsity from 0 (dense: BSP's bytes) to 99.99% (an entry waits about
# 10,000 iterations), about a factor 2.5 of 1 / (1 - sparsity) apart.
GAIA_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
FEDAVG_GRID = (1, 2, 5, 10, 20, 50, 100, 200, 500)
DGC_GRID = (0.0, 0.75, 0.9, 0.96, 0.99, 0.996, 0.999, 0.9996, 0.9999)
MIN_AVERAGINGS = 3
GRIDS = {"gaia": GAIA_GRID, "fedavg": FEDAVG_GRID, "dgc": DGC_GRID}


def grid_for(setting: F4Setting, algo: str) -> tuple:
    """The algorithm's grid on this setting: FedAvg's stops where a run would average fewer than MIN_AVERAGINGS
    times."""
    if algo == "fedavg":
        return tuple(v for v in FEDAVG_GRID if v * MIN_AVERAGINGS <= setting.iterations)
    return GRIDS[algo]


def start_knobs(grid: tuple) -> dict[str, float | int]:
    """Where SkewScout starts on an evaluation setting: the tightest, the middle and the loosest knob."""
    return {"tightest": grid[0], "middle": grid[len(grid) // 2], "loosest": grid[-1]}
