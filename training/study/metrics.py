"""From the study's runs to a typed summary: pure functions of the metrics rows, so the report, the figures and
summary.json all show the same numbers and each statistic is tested on rows built by hand.

``results`` maps (experiment, key, seed) to a run's metrics rows; an F4 key starts with its setting."""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field

import numpy as np

from training.study.experiments import F4_CONTROLLERS, SKEWS
from training.study.protocol import GRIDS, SETTINGS, grid_for, start_knobs

TARGET_REL = 0.95      # F4 target: 95% of BSP's final accuracy on the same skewed partitions
F4_BAR = 1.5           # the paper's claim: SkewScout within 1.5x of the Oracle's bytes
ISO_SLACK = 0.005      # "the same accuracy": within half a point of SkewScout's final accuracy
F1_ALGOS = ("bsp", "gaia", "fedavg", "dgc")
F2_MODELS = ("lenet_bn", "lenet_gn")
F5_ALGOS = ("bsp", "gaia", "fedavg")


def within_bar(ratio: float | None) -> bool:
    """The paper's bar on the exact ratio (no rounding: 1.5000000000000002 is over it)."""
    return ratio is not None and ratio <= F4_BAR


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation over seeds (a fraction for accuracies)."""
    mean: float
    std: float

    @classmethod
    def of(cls, values) -> Spread:
        v = np.array(values, dtype=float)
        return cls(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)


@dataclass(frozen=True)
class AccuracyGap:
    """Final accuracy on IID partitions (or their control) and on skewed ones."""
    iid: Spread
    skew: Spread

    @property
    def loss_points(self) -> float:
        return 100 * (self.iid.mean - self.skew.mean)

    @property
    def beyond_noise(self) -> bool:
        """The F1 bar: more than 2 points and more than the two spreads together."""
        return self.loss_points > 2 and self.loss_points > 100 * (self.iid.std + self.skew.std)


@dataclass(frozen=True)
class F4Run:
    """SkewScout (one controller, one start knob) on one setting, means over seeds."""
    controller: str               # "skewscout" (as shipped) | "skewscout-paper"
    start: str                    # tightest | middle | loosest
    start_knob: float | int
    final: float                  # final accuracy
    mb: float                     # whole-run bytes (MB), model travel included
    travel_share: float
    ratio: float | None           # mb / the Oracle's (exact), None when below the target or no Oracle
    below_bsp: bool
    knobs_seed0: list             # (iteration, knob) at each evaluation of seed 0
    walk_seed0: list = field(default_factory=list)   # (iteration, knob after, measured loss or None, MB so far)

    @property
    def passes(self) -> bool:
        return within_bar(self.ratio) and self.below_bsp


@dataclass(frozen=True)
class F4Algo:
    """One algorithm's static grid on one setting and its SkewScout runs."""
    static: dict                  # knob -> [final accuracy, MB]
    oracle_knob: float | int | None
    oracle_mb: float | None
    oracle_place: str             # "inside" | "tightest end" | "loosest end" | "none reaches the target" | "not run"
    runs: list[F4Run]


@dataclass(frozen=True)
class F4Result:
    name: str
    group: str                    # tuning | evaluation
    iterations: int
    target: float
    bsp_final: float
    bsp_mb: float
    algos: dict[str, F4Algo]
    seeds: int = 0                # seeds behind each point (the tuning group may run fewer)


@dataclass(frozen=True)
class StudyMeta:
    """What the report's header says about the invocation and its runs."""
    data_name: str
    quick: bool
    iterations: int
    seeds: int
    command: str
    seconds: float
    runs: int
    run_minutes: float
    manifest: str | None = None
    f4_fedavg_loss: bool = False      # the static FedAvg runs recorded a loss (the F4 loss figure exists)
    engine: dict = field(default_factory=dict)   # the code versions runs are keyed by: "static", "skewscout"


@dataclass
class StudySummary:
    meta: StudyMeta
    f1: dict[str, AccuracyGap] | None = None
    f2: dict[str, AccuracyGap] | None = None
    f3: dict[float, Spread] | None = None
    f4: dict[str, F4Result] | None = None
    f5: dict[str, AccuracyGap] | None = None
    skipped_f5: bool = False      # F5 asked for without a manifest
    previous: list = field(default_factory=list)   # findings kept from an earlier summary.json (not rerun)

    def to_json(self) -> dict:
        """summary.json: the findings as before (F1..F5), then the spreads and the header the report needs."""
        out: dict = {}
        if self.f1 is not None:
            out["F1"] = {a: {"iid": g.iid.mean, "skew": g.skew.mean, "loss_points": g.loss_points}
                         for a, g in self.f1.items()}
        if self.f2 is not None:
            out["F2"] = {m: g.loss_points for m, g in self.f2.items()}
        if self.f3 is not None:
            out["F3"] = {"acc": {s: 100 * v.mean for s, v in self.f3.items()}}
        if self.f4 is not None:
            out["F4"] = {st: asdict(r) for st, r in self.f4.items()}
        if self.f5 is not None:
            out["F5"] = {a: g.loss_points for a, g in self.f5.items()}
        spread = {name: {k: asdict(g) for k, g in gaps.items()}
                  for name, gaps in (("F1", self.f1), ("F2", self.f2), ("F5", self.f5)) if gaps is not None}
        if self.f3 is not None:
            spread["F3"] = {str(s): asdict(v) for s, v in self.f3.items()}
        return out | {"spread": spread, "meta": asdict(self.meta) | {"skipped_f5": self.skipped_f5},
                      "previous": self.previous}

    @classmethod
    def from_json(cls, d: dict, meta: StudyMeta | None = None) -> StudySummary:
        """Back from summary.json; one written before "spread" and "meta" existed gives F4 (and F1's means)
        only, with ``meta`` supplied by the caller."""
        m = dict(d.get("meta") or {})
        skipped = m.pop("skipped_f5", False)
        spread = d.get("spread", {})

        def gaps(name):
            if name in spread:
                return {k: AccuracyGap(Spread(**g["iid"]), Spread(**g["skew"])) for k, g in spread[name].items()}
            return None

        f1 = gaps("F1")
        if f1 is None and "F1" in d:
            nan = float("nan")
            f1 = {a: AccuracyGap(Spread(g["iid"], nan), Spread(g["skew"], nan)) for a, g in d["F1"].items()}
        f3 = {float(s): Spread(**v) for s, v in spread["F3"].items()} if "F3" in spread else None
        return cls(meta=meta or StudyMeta(**m), previous=d.get("previous", []),
                   f1=f1, f2=gaps("F2"), f3=f3, f5=gaps("F5"), skipped_f5=skipped,
                   f4={st: f4_from_json(r) for st, r in d["F4"].items()} if "F4" in d else None)


def f4_from_json(d: dict) -> F4Result:
    algos = {a: F4Algo(**(v | {"runs": [F4Run(**r) for r in v["runs"]]})) for a, v in d["algos"].items()}
    return F4Result(**(d | {"algos": algos}))


# ---- from runs ---------------------------------------------------------------------------------------------------

def finals(results: dict, name: str, key, seeds: int) -> list[float]:
    """Final accuracy of each seed's run of (name, key) that exists."""
    return [results[(name, key, s)][-1]["acc_mean"] for s in range(seeds) if (name, key, s) in results]


def gap(results: dict, name: str, iid_key, skew_key, seeds: int) -> AccuracyGap:
    return AccuracyGap(Spread.of(finals(results, name, iid_key, seeds)),
                       Spread.of(finals(results, name, skew_key, seeds)))


def f1_summary(results: dict, seeds: int) -> dict[str, AccuracyGap]:
    return {a: gap(results, "F1", (a, "iid"), (a, "label-exclusive"), seeds) for a in F1_ALGOS}


def f2_summary(results: dict, seeds: int) -> dict[str, AccuracyGap]:
    return {m: gap(results, "F2", (m, "iid"), (m, "label-exclusive"), seeds) for m in F2_MODELS}


def f2_reproduced(f2: dict[str, AccuracyGap]) -> bool:
    """BN loses more than 2 points under skew, GN less than half of what BN loses."""
    bn, gn = f2["lenet_bn"].loss_points, f2["lenet_gn"].loss_points
    return bn > 2 and gn < 0.5 * bn


def f3_summary(results: dict, seeds: int) -> dict[float, Spread]:
    return {s: Spread.of(finals(results, "F3", ("fedavg", s), seeds)) for s in SKEWS}


def f3_trend(f3: dict[float, Spread]) -> tuple[float, bool]:
    """Points lost from the least to the most skew, and whether each step falls or stays within the spread."""
    means = [100 * v.mean for v in f3.values()]
    errs = [100 * v.std for v in f3.values()]
    mono = all(means[i] >= means[i + 1] - max(errs[i], errs[i + 1], 0.5) for i in range(len(means) - 1))
    return means[0] - means[-1], mono


def f5_summary(results: dict, seeds: int) -> dict[str, AccuracyGap]:
    return {a: gap(results, "F5", (a, "same data, IID"), (a, "geographic"), seeds) for a in F5_ALGOS}


def mean_final(runs: list[list[dict]]) -> float:
    return float(np.mean([r[-1]["acc_mean"] for r in runs]))


def mean_bytes(runs: list[list[dict]]) -> float:
    return float(np.mean([r[-1]["bytes"] for r in runs]))


def mean_over_run(runs: list[list[dict]]) -> float:
    return float(np.mean([np.mean([x["acc_mean"] for x in r]) for r in runs]))


def f4_runs(results: dict, setting: str, key: tuple, seeds: int) -> list[list[dict]]:
    return [results[("F4", (setting,) + key, s)] for s in range(seeds) if ("F4", (setting,) + key, s) in results]


def oracle_place(grid: tuple, knob) -> str:
    if knob is None:
        return "none reaches the target"
    return "tightest end" if knob == grid[0] else "loosest end" if knob == grid[-1] else "inside"


def f4_algo(results: dict, setting: str, algo: str, seeds: int, target: float, bsp_mb: float, grid: tuple) -> F4Algo:
    """The Oracle (the cheapest static knob whose seed-mean final accuracy reaches the target) and every SkewScout
    run against it: whole-run bytes, the ratio exact."""
    static = {v: [mean_final(r), mean_bytes(r) / 1e6] for v in grid if (r := f4_runs(results, setting, (algo, v, None),
                                                                                        seeds))}
    reach = {v: mb for v, (acc, mb) in static.items() if acc >= target}
    knob = min(reach, key=reach.get) if reach else None
    o = reach.get(knob)
    runs = []
    for controller in F4_CONTROLLERS:
        for start, v in start_knobs(grid).items():
            ss = f4_runs(results, setting, (algo, controller, start), seeds)
            if not ss:
                continue
            final, mb = mean_final(ss), mean_bytes(ss) / 1e6
            runs.append(F4Run(controller=controller, start=start, start_knob=v, final=final, mb=mb,
                              travel_share=float(np.mean([x[-1]["bytes_travel"] / x[-1]["bytes"] for x in ss])),
                              ratio=mb / o if (o and final >= target) else None, below_bsp=mb < bsp_mb,
                              knobs_seed0=[(x["iteration"], x["knob"]) for x in ss[0]],
                              walk_seed0=[(x["iteration"], x.get("knob_after", x["knob"]), x.get("skewscout_loss"),
                                           x["bytes"] / 1e6) for x in ss[0]]))
    place = oracle_place(grid, knob) if static else "not run"
    return F4Algo(static=static, oracle_knob=knob, oracle_mb=o, oracle_place=place, runs=runs)


def f4_summary(results: dict, seeds: int) -> dict[str, F4Result]:
    """Every F4 setting that ran, in the protocol's order (evaluation first)."""
    ran = {key[0] for (name, key, _) in results if name == "F4"}
    out = {}
    for setting in (st for st in SETTINGS.values() if st.id in ran):
        bsp = f4_runs(results, setting.id, ("bsp", None, None), seeds)
        target, bsp_mb = TARGET_REL * mean_final(bsp), mean_bytes(bsp) / 1e6
        out[setting.id] = F4Result(
            name=setting.name, group=setting.group, iterations=bsp[0][-1]["iteration"], target=target,
            bsp_final=mean_final(bsp), bsp_mb=bsp_mb, seeds=len(bsp),
            algos={a: f4_algo(results, setting.id, a, seeds, target, bsp_mb,
                              grid_for(dataclasses.replace(setting, iterations=bsp[0][-1]["iteration"]), a))
                   for a in GRIDS})
    return out


def summarize(results: dict, names: list[str], meta: StudyMeta) -> StudySummary:
    """Every asked-for finding from the runs; F5 without a manifest is marked skipped."""
    s = StudySummary(meta=meta)
    seeds = meta.seeds
    if "F1" in names:
        s.f1 = f1_summary(results, seeds)
    if "F2" in names:
        s.f2 = f2_summary(results, seeds)
    if "F3" in names:
        s.f3 = f3_summary(results, seeds)
    if "F4" in names:
        s.f4 = f4_summary(results, seeds)
    if "F5" in names:
        if meta.manifest:
            s.f5 = f5_summary(results, seeds)
        else:
            s.skipped_f5 = True
    return s
