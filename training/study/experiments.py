"""The named experiments: each is a list of (key, config) runs; results are aggregated over seeds."""
from __future__ import annotations

import copy

from training.skewscout.settings import SkewScoutConfig
from training.study.protocol import F4Setting, grid_for, start_knobs

SKEWS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
ALGOS = {"bsp": {"name": "bsp"}, "gaia": {"name": "gaia", "threshold": 0.2},
         "fedavg": {"name": "fedavg", "iter_local": 20}, "dgc": {"name": "dgc", "sparsity": 0.99}}


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


def f1(base):
    for a, algo in ALGOS.items():
        if a == "dgc":
            algo = algo | {"warmup_iters": max(1, base["solver"]["iterations"] // 20)}
        for part in ("iid", "label-exclusive"):
            yield (a, part), with_(base, algorithm=algo, partition={"name": part})


def f2(base):
    for model in ("lenet_bn", "lenet_gn"):
        for part in ("iid", "label-exclusive"):
            yield (model, part), with_(base, model={"name": model}, partition={"name": part})


def f3(base):
    for s in SKEWS:
        yield ("fedavg", s), with_(base, algorithm=ALGOS["fedavg"], partition={"name": "skew", "skew": s})


F4_BUDGET = 0.1          # SkewScout's model travel may cost at most 10% of the algorithm's own bytes ...
F4_TRAVELS_PER_RUN = 120  # ... a travel is due every 1/120 of the run (tuning round 3: 1/40 before) ...
F4_FLOOR = (5, 40)       # ... and happens at least every 5/40 of the run whatever the budget (as in rounds 1-2)


def f4_skewscout(setting: F4Setting, grid: tuple, travels_per_run: int = F4_TRAVELS_PER_RUN) -> dict:
    """The [skewscout] section every F4 SkewScout run shares (the controller's rule and measure come on top)."""
    parts, of = F4_FLOOR
    return {"enabled": True, "sigma": setting.sigma, "travel_every": max(1, setting.iterations // travels_per_run),
            "travel_budget": F4_BUDGET, "travel_at_least_every": parts * max(1, setting.iterations // of),
            "sample_size": F4_SAMPLE, "grid": list(grid)}


F4_SAMPLE = 200          # examples of the receiving partition each pair is scored on (the [skewscout] default)
F4_KNOBS = {"gaia": "threshold", "fedavg": "iter_local"}
F4_CONTROLLERS = {"skewscout": {"rule": SkewScoutConfig.rule, "measure": SkewScoutConfig.measure},  # as shipped
                  "skewscout-paper": {"rule": "paper", "measure": "travel"}}   # the paper's


def f4_base(setting: F4Setting, seed: int) -> dict:
    """The setting's BSP config: its data, partitions, LR schedule and length (training/study/protocol.py)."""
    base = base_config(setting.data, setting.iterations, seed)
    return with_(base, partition=setting.partition | {"seed": seed}, solver=setting.schedule)


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


def f5(base, manifest: str | None):
    if not manifest:
        return
    geo = with_(base, model={"name": "lenet_gn"})
    geo["data"] = {"name": "manifest", "path": manifest, "img_size": 32}     # replaced whole: digits' keys do not apply
    geo.pop("partition", None)
    for a in ("bsp", "gaia", "fedavg"):
        yield (a, "geographic"), with_(geo, algorithm=ALGOS[a])
        shuffled = with_(geo, algorithm=ALGOS[a])
        shuffled["data"]["shuffle_partitions"] = True
        yield (a, "same data, IID"), shuffled


EXPERIMENTS = {"F1": f1, "F2": f2, "F3": f3, "F4": f4, "F5": f5}   # F4 takes a protocol setting, not a base
