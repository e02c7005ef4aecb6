"""The experiment registry: each finding is a function ``fn(ctx, results) -> runs`` (F4: a protocol setting and a
seed, training/study/protocol.py). A run is a ``Planned`` (key, seed, config) with a role: plain runs, tuning runs
(F7's operating point is chosen on them), control runs (a finding's precondition is measured on them) and treatment
runs (trained only where the precondition held on the controls; training/study/metrics.py checks it). ``results``
holds the runs finished so far, so a finding whose runs depend on earlier ones (F7's choice) plans in stages."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

from training.study.protocol import F4Setting, grid_for, start_knobs

SKEWS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
ALGOS = {"bsp": {"name": "bsp"}, "gaia": {"name": "gaia", "threshold": 0.2},
         "fedavg": {"name": "fedavg", "iter_local": 20}, "dgc": {"name": "dgc", "sparsity": 0.99}}
DIGITS = {"name": "digits", "test_fraction": 0.25}
F1_ITERATIONS = 500          # MNIST-10k, as docs/mnist-table.md (where IID Gaia and FedAvg end within a point of BSP)


@dataclass(frozen=True)
class Context:
    """What one invocation gives the experiments."""
    seeds: int
    iterations: int = 400             # F2, F3, F5
    data: dict | None = None          # F2, F3 (default: digits)
    mnist: str | None = None          # MNIST-10k idx folder: F1
    manifest: str | None = None       # export manifest: F5, F8's geographic column


@dataclass(frozen=True)
class Planned:
    """One run of a finding. ``role``: run | tuning | control | treatment; a treatment waits on the precondition of
    its ``setting``, measured on that setting's controls."""
    key: tuple
    seed: int
    config: dict
    role: str = "run"
    setting: str = ""


def base_config(data: dict, iterations: int, seed: int) -> dict:
    return {"data": dict(data), "partition": {"name": "iid", "num_partitions": 5, "seed": seed},
            "model": {"name": "lenet_gn"}, "algorithm": {"name": "bsp"},
            "solver": {"lr": 0.02, "batch_size": 20, "iterations": iterations},
            "run": {"seed": seed, "eval_every": max(1, iterations // 8)}}


def with_(cfg: dict, **sections) -> dict:
    c = copy.deepcopy(cfg)
    for k, v in sections.items():
        c[k] = {**c.get(k, {}), **v} if k != "algorithm" else dict(v)
    return c


def mnist_data(path: str) -> dict:
    return {"name": "mnist", "path": path, "test_fraction": 0.2}


def f1(ctx: Context, results: dict) -> Iterator[Planned]:
    """Each algorithm on IID (control: it must end within a point of BSP's IID accuracy) and label-exclusive
    (treatment) partitions of MNIST-10k; BSP's label-exclusive run is shown beside. Without --mnist: nothing."""
    if not ctx.mnist:
        return
    for seed in range(ctx.seeds):
        base = base_config(mnist_data(ctx.mnist), F1_ITERATIONS, seed)
        for a, algo in ALGOS.items():
            if a == "dgc":
                algo = algo | {"warmup_iters": max(1, F1_ITERATIONS // 20)}
            yield Planned((a, "iid"), seed, with_(base, algorithm=algo), "control", a)
            skewed = with_(base, algorithm=algo, partition={"name": "label-exclusive"})
            yield Planned((a, "label-exclusive"), seed, skewed, "run" if a == "bsp" else "treatment", a)


def f2(ctx: Context, results: dict) -> Iterator[Planned]:
    for seed in range(ctx.seeds):
        base = base_config(ctx.data or DIGITS, ctx.iterations, seed)
        for model in ("lenet_bn", "lenet_gn"):
            for part in ("iid", "label-exclusive"):
                yield Planned((model, part), seed, with_(base, model={"name": model}, partition={"name": part}))


def f3(ctx: Context, results: dict) -> Iterator[Planned]:
    for seed in range(ctx.seeds):
        base = base_config(ctx.data or DIGITS, ctx.iterations, seed)
        for s in SKEWS:
            yield Planned(("fedavg", s), seed, with_(base, algorithm=ALGOS["fedavg"],
                                                     partition={"name": "skew", "skew": s}))


F4_KNOBS = {"gaia": "threshold", "fedavg": "iter_local", "dgc": "sparsity"}
F4_CONTROLLERS = {"skewscout": {},                                            # as shipped: SkewScoutConfig's
                  "skewscout-paper": {"rule": "paper", "measure": "travel"}}   # the paper's rule and measure


def f4_skewscout(setting: F4Setting, grid: tuple) -> dict:
    """The [skewscout] section of every F4 SkewScout run: the setting's σ and grid; everything else is
    SkewScoutConfig's default, so the study judges exactly what a user gets (the controller variant comes on
    top: nothing for the shipped one)."""
    return {"enabled": True, "sigma": setting.sigma, "grid": list(grid)}


def f4_base(setting: F4Setting, seed: int) -> dict:
    """The setting's BSP config: its data, partitions, LR schedule and length (training/study/protocol.py)."""
    base = with_(base_config(setting.data, setting.iterations, seed), solver=setting.schedule)
    if setting.data["name"] == "manifest":          # the export's own partitions: no partitioner
        base.pop("partition", None)
        return base
    return with_(base, partition=setting.partition | {"seed": seed})


def f4(setting: F4Setting, seed: int):
    """One F4 setting: BSP, each static knob of the protocol's grid, SkewScout as shipped from the tightest, the
    middle and the loosest knob (evaluation settings; the middle only on tuning ones) and the paper's SkewScout from
    the middle. Keys: (algorithm, knob or controller, start or None)."""
    base = f4_base(setting, seed)
    yield ("bsp", None, None), with_(base, algorithm={"name": "bsp"})
    for name, knob in F4_KNOBS.items():
        grid = grid_for(setting, name)
        for v in grid:
            yield (name, v, None), with_(base, algorithm={"name": name, knob: v})
        ss = f4_skewscout(setting, grid)
        starts = start_knobs(grid)
        for variant, controller in F4_CONTROLLERS.items():
            for where, v in starts.items():
                if where != "middle" and (variant != "skewscout" or setting.group != "evaluation"):
                    continue
                yield (name, variant, where), with_(base, algorithm={"name": name, knob: v},
                                                    skewscout=ss | controller)


def f5(ctx: Context, results: dict) -> Iterator[Planned]:
    """The export's geographic partitions (treatment) against the same photos reshuffled IID into partitions of the
    same sizes (control); the precondition is the test split's size (training/study/metrics.py)."""
    if not ctx.manifest:
        return
    for seed in range(ctx.seeds):
        geo = with_(base_config(DIGITS, ctx.iterations, seed), model={"name": "lenet_gn"})
        geo["data"] = {"name": "manifest", "path": ctx.manifest, "img_size": 32}   # replaced whole
        geo.pop("partition", None)
        for a in ("bsp", "gaia", "fedavg"):
            shuffled = with_(geo, algorithm=ALGOS[a])
            shuffled["data"]["shuffle_partitions"] = True
            yield Planned((a, "same data, IID"), seed, shuffled, "control", "geographic")
            yield Planned((a, "geographic"), seed, with_(geo, algorithm=ALGOS[a]), "treatment", "geographic")


# ---- beyond the paper: F6 gossip with Quasi-Global Momentum, F7 bounded staleness, F8 the remedies ------------------
SAMPLES_PER_ITERATION = 160   # F6-F8 draw the same global batch: 20 per partition at K = 8, 5 at K = 32
GOSSIP_LR = 0.05

F6_ITERATIONS = 200
# topology -> (nodes, partitions). Label-exclusive on the ring; the 32-node graph has more nodes than digits has
# classes, so it takes the strongest Dirichlet skew that partitions digits over 32 nodes reliably: α = 0.1 (α = 0.05
# left a partition with fewer than 2 rows in 10 tries on seed 1; its seed-0 controls, BSP and DSGDm, ended 0.3 points
# apart: no QGM run was made at 0.05)
F6_SETTINGS = {"ring": (8, {"name": "label-exclusive"}),
               "social": (32, {"name": "dirichlet", "alpha": 0.1, "min_partition_size": 2})}

F7_STALENESS = (0, 2, 4, 8)   # s = 32 left IID training unstable at every point of F7_GRID (tuning runs, 7-64%)
F7_ITERATIONS = 400           # at least 10x the largest s, so the last s iterations' undelivered gradients are < 10%
F7_DELAYS = ("fixed", "random")   # fixed: every gradient exactly s late; random: uniform in [0, s] (ssp.py)
F7_K = 8
# (momentum, LR), largest first. The rule (f7_choice): the first whose IID run at the largest s (fixed delay, seed 0)
# ends at >= F7_STABLE of its own s = 0 accuracy; label-skewed runs never enter the choice. At s = 32 no point of it
# was stable (IID, seed 0, fixed delay: 7-65% of the s = 0 accuracy, LR 0.005 included), so the largest s is 8
F7_GRID = ((0.9, 0.05), (0.9, 0.02), (0.5, 0.05), (0.5, 0.02), (0.0, 0.05), (0.0, 0.02), (0.0, 0.01), (0.0, 0.005))
F7_STABLE = 0.9

F8_ITERATIONS = 150
F8_K = 8
ITER_LOCAL = 20               # FedAvg-family rounds in F8
FEDPROX_MU = 0.1
GEO_IMG_SIZE = 16             # F8's geographic column: the export's photos downscaled
REMEDIES = {                  # F8: name -> (model, bn_stats, algorithm, topology or None, skewscout)
    "FedAvg (BN-LeNet)": ("lenet_bn", "shared", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, False),
    "FedAvg + GN": ("lenet_gn", "shared", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, False),
    "FedBN": ("lenet_bn", "local", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, False),
    "FedProx + GN": ("lenet_gn", "shared", {"name": "fedprox", "iter_local": ITER_LOCAL, "mu": FEDPROX_MU}, None,
                     False),
    "SCAFFOLD + GN": ("lenet_gn", "shared", {"name": "scaffold", "iter_local": ITER_LOCAL}, None, False),
    "QGM + GN (ring)": ("lenet_gn", "shared", {"name": "qgm"}, "ring", False),
    "SkewScout (FedAvg + GN)": ("lenet_gn", "shared", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, True),
}
F8_SKEWS = ("label-exclusive", "dirichlet 0.1", "geographic")
F8_CONTROL = "FedAvg + GN, same data IID"   # each skew's control: the same data split IID


def gossip_base(seed: int, k: int, iterations: int, lr: float = GOSSIP_LR, **solver) -> dict:
    """F6-F8's base: digits, K partitions sharing SAMPLES_PER_ITERATION, GN-LeNet, BSP."""
    return {"data": dict(DIGITS), "partition": {"name": "iid", "num_partitions": k, "seed": seed},
            "model": {"name": "lenet_gn"}, "algorithm": {"name": "bsp"},
            "solver": {"lr": lr, "batch_size": SAMPLES_PER_ITERATION // k, "iterations": iterations} | solver,
            "run": {"seed": seed, "eval_every": iterations // 4}}


def f6(ctx: Context, results: dict) -> Iterator[Planned]:
    """Per topology: BSP and DSGDm on the same skewed partitions (controls: DSGDm must end >= 3 points below BSP),
    then QG-DSGDm (treatment)."""
    for seed in range(ctx.seeds):
        for topo, (k, part) in F6_SETTINGS.items():
            c = gossip_base(seed, k, F6_ITERATIONS)
            c["partition"] |= part
            yield Planned((topo, "bsp"), seed, c, "control", topo)
            for algo, role in (("dsgdm", "control"), ("qgm", "treatment")):
                yield Planned((topo, algo), seed, with_(c, algorithm={"name": algo}, topology={"name": topo}),
                              role, topo)


def f7_config(seed: int, partition: str, s: int, delay: str, momentum: float, lr: float) -> dict:
    c = gossip_base(seed, F7_K, F7_ITERATIONS, lr, momentum=momentum, lr_steps=[])     # constant LR
    c["partition"]["name"] = partition
    c["algorithm"] = {"name": "ssp", "staleness": s} | ({"delay": delay} if s else {})   # s = 0: BSP, any delay
    return c


def f7_choice(results: dict) -> tuple[float, float] | None:
    """F7's (momentum, LR) from IID tuning runs alone (seed 0, fixed delay): the first of F7_GRID whose run at the
    largest s ends at >= F7_STABLE of its s = 0 accuracy; the grid's last when none does (the precondition then
    fails). None until every tuning run finished."""
    finals = {}
    for m, lr in F7_GRID:
        for s in (0, F7_STALENESS[-1]):
            rows = results.get(("F7", ("tuning", m, lr, s), 0))
            if rows is None:
                return None
            finals[(m, lr, s)] = rows[-1]["acc_mean"]
    return next(((m, lr) for m, lr in F7_GRID
                 if finals[(m, lr, F7_STALENESS[-1])] >= F7_STABLE * finals[(m, lr, 0)]), F7_GRID[-1])


def f7(ctx: Context, results: dict) -> Iterator[Planned]:
    """Tuning runs first (IID, seed 0); then, at the chosen (momentum, LR), IID at every s and delay (controls:
    stable at every s) and label-exclusive (treatments), constant LR, F7_ITERATIONS long."""
    for m, lr in F7_GRID:
        for s in (0, F7_STALENESS[-1]):
            yield Planned(("tuning", m, lr, s), 0, f7_config(0, "iid", s, "fixed", m, lr), "tuning")
    choice = f7_choice(results)
    if choice is None:
        return
    for seed in range(ctx.seeds):
        for part, role in (("iid", "control"), ("label-exclusive", "treatment")):
            for delay in F7_DELAYS:
                for s in F7_STALENESS:
                    yield Planned((part, delay, s), seed, f7_config(seed, part, s, delay, *choice), role, delay)


def remedy(c: dict, name: str) -> dict:
    model, bn, algo, topo, scout = REMEDIES[name]
    c = copy.deepcopy(c)
    c["model"], c["algorithm"] = {"name": model} | ({"bn_stats": bn} if bn != "shared" else {}), dict(algo)
    if topo:
        c["topology"] = {"name": topo}
    if scout:
        travel = max(1, F8_ITERATIONS // 40)
        c["skewscout"] = {"enabled": True, "sigma": 0.05, "grid": [5, 10, 20, 50], "travel_every": travel,
                          "travel_at_least_every": 5 * travel, "sample_size": 100}
    return c


def f8(ctx: Context, results: dict) -> Iterator[Planned]:
    """Every remedy on label-exclusive, Dirichlet(0.1) and (with a manifest) geographic partitions, and each skew's
    control (FedAvg + GN on the same data split IID)."""
    for seed in range(ctx.seeds):
        for skew in F8_SKEWS:
            c = gossip_base(seed, F8_K, F8_ITERATIONS)
            c["run"]["eval_every"] = F8_ITERATIONS // 3
            if skew == "label-exclusive":
                c["partition"]["name"] = "label-exclusive"
            elif skew.startswith("dirichlet"):
                c["partition"] |= {"name": "dirichlet", "alpha": float(skew.split()[1]), "min_partition_size": 2}
            elif ctx.manifest:
                c["data"] = {"name": "manifest", "path": ctx.manifest, "img_size": GEO_IMG_SIZE}
                c.pop("partition")
                c["solver"]["batch_size"] = 20
            else:
                continue
            for name in REMEDIES:
                yield Planned((skew, name), seed, remedy(c, name))
            control = copy.deepcopy(c)
            if "partition" in control:
                control["partition"] = {"name": "iid", "num_partitions": F8_K, "seed": seed}
            else:
                control["data"]["shuffle_partitions"] = True
            yield Planned((skew, F8_CONTROL), seed, remedy(control, "FedAvg + GN"))


# F4 takes a protocol setting and a seed (training/study/report.py plans it); the others take (ctx, results)
EXPERIMENTS = {"F1": f1, "F2": f2, "F3": f3, "F4": f4, "F5": f5, "F6": f6, "F7": f7, "F8": f8}
