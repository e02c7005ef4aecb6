"""From the study's runs to a typed summary: pure functions of the metrics rows, so the report, the figures and
summary.json all show the same numbers and each statistic is tested on rows built by hand.

``results`` maps (experiment, key, seed) to a run's metrics rows; an F4 key starts with its setting."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from training.study.experiments import F4_START, SKEWS
from training.sweep import MEASURES

TARGET_REL = 0.95      # F4 target: 95% of BSP's final accuracy on the same skewed partitions
F4_BAR = 1.5           # the paper's claim: SkewScout within 1.5x of the Oracle's bytes
ISO_SLACK = 0.005      # "the same accuracy": within half a point of SkewScout's final accuracy
F1_ALGOS = ("bsp", "gaia", "fedavg", "dgc")
F2_MODELS = ("lenet_bn", "lenet_gn")
F5_ALGOS = ("bsp", "gaia", "fedavg")
F4_ROWS = (("gaia", "gaia", "skewscout"), ("fedavg", "fedavg", "skewscout"),
           ("gaia, paper's SkewScout", "gaia", "skewscout-paper"),
           ("fedavg, paper's SkewScout", "fedavg", "skewscout-paper"))   # (table row, algorithm, run variant)


def within_bar(ratio: float | None) -> bool:
    return ratio is not None and round(ratio, 9) <= F4_BAR          # byte ratios like 1.5000000000000002 pass


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
class MeasureRow:
    """One table row under one measure of communication (MB); None where no run reaches the target."""
    oracle_knob: float | int | None
    oracle_mb: float | None
    skewscout_mb: float | None
    ratio: float | None
    savings_vs_bsp: float | None


@dataclass(frozen=True)
class F4Measure:
    bsp_mb: float | None
    rows: dict[str, MeasureRow]


@dataclass(frozen=True)
class SameAccuracy:
    """The cheapest static knob whose final accuracy is within ISO_SLACK of SkewScout's."""
    knob: float | int | None
    mb: float | None
    ratio: float | None
    skewscout_final: float


@dataclass(frozen=True)
class F4Row:
    """SkewScout (one variant) against the static grid of its algorithm, with what the notes explain it by."""
    whole: MeasureRow
    bsp_mb: float | None
    iso: SameAccuracy
    skewscout_mean_acc: float
    oracle_mean_acc: float | None
    travel_share: float
    trajectory_seed0: list          # (iteration, knob, loss or None) at each evaluation
    finals: list[float]
    trajectory_worst: list
    oracle_loss_by_quarter: list[float] | None
    loosened_at: list[int | None]
    failing_knobs_loss_by_quarter: dict[str, list[float]]


@dataclass(frozen=True)
class F4Setting:
    target: float
    iterations: int
    whole_run: F4Measure
    to_target: F4Measure
    lr_drops: bool
    rows: dict[str, F4Row]


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


@dataclass
class StudySummary:
    meta: StudyMeta
    f1: dict[str, AccuracyGap] | None = None
    f2: dict[str, AccuracyGap] | None = None
    f3: dict[float, Spread] | None = None
    f4: dict[str, F4Setting] | None = None
    f5: dict[str, AccuracyGap] | None = None
    skipped_f5: bool = False      # F5 asked for without a manifest

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
            out["F4"] = {st: _f4_setting_json(s) for st, s in self.f4.items()}
        if self.f5 is not None:
            out["F5"] = {a: g.loss_points for a, g in self.f5.items()}
        spread = {name: {k: asdict(g) for k, g in gaps.items()}
                  for name, gaps in (("F1", self.f1), ("F2", self.f2), ("F5", self.f5)) if gaps is not None}
        if self.f3 is not None:
            spread["F3"] = {str(s): asdict(v) for s, v in self.f3.items()}
        return out | {"spread": spread, "meta": asdict(self.meta) | {"skipped_f5": self.skipped_f5}}

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
        return cls(meta=meta or StudyMeta(**m), f1=f1, f2=gaps("F2"), f3=f3, f5=gaps("F5"), skipped_f5=skipped,
                   f4={st: _f4_setting_from_json(s) for st, s in d["F4"].items()} if "F4" in d else None)


def _f4_row_json(r: F4Row) -> dict:
    d = asdict(r)
    return d.pop("whole") | d


def _f4_measure_json(m: F4Measure) -> dict:
    return {"bsp_mb": m.bsp_mb} | {row: asdict(v) for row, v in m.rows.items()}


def _f4_setting_json(s: F4Setting) -> dict:
    return {"target": s.target, "iterations": s.iterations, "whole_run": _f4_measure_json(s.whole_run),
            "to_target": _f4_measure_json(s.to_target), "lr_drops": s.lr_drops} | \
        {row: _f4_row_json(r) for row, r in s.rows.items()}


def _f4_measure_from_json(d: dict) -> F4Measure:
    return F4Measure(d["bsp_mb"], {k: MeasureRow(**v) for k, v in d.items() if k != "bsp_mb"})


def _f4_setting_from_json(d: dict) -> F4Setting:
    whole_keys = set(MeasureRow.__dataclass_fields__)
    rows = {}
    for row, *_ in F4_ROWS:
        if row in d:
            r = dict(d[row])
            whole = MeasureRow(**{k: r.pop(k) for k in list(r) if k in whole_keys})
            rows[row] = F4Row(whole=whole, iso=SameAccuracy(**r.pop("iso")), **r)
    return F4Setting(d["target"], d["iterations"], _f4_measure_from_json(d["whole_run"]),
                     _f4_measure_from_json(d["to_target"]), d["lr_drops"], rows)


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


def loss_by_quarter(runs: list[list[dict]] | None, iterations: int) -> list[float] | None:
    """Mean over seeds and evaluations of the loss a static run's immovable SkewScout recorded, per quarter."""
    if not runs or not any("skewscout_loss" in x for x in runs[0]):
        return None
    q = [[x["skewscout_loss"] for r in runs for x in r if "skewscout_loss" in x
          and i * iterations / 4 < x["iteration"] <= (i + 1) * iterations / 4] for i in range(4)]
    return [float(np.mean(v)) if v else float("nan") for v in q]


def is_skewscout(key) -> bool:
    return str(key[1]).startswith("skewscout")


def f4_settings(results: dict) -> list[str]:
    return sorted({key[0] for (name, key, _) in results if name == "F4"})


def f4_keys(results: dict, setting: str) -> list[tuple]:
    """(algorithm, knob or variant) of every run of one F4 setting."""
    return sorted({key[1:] for (name, key, _) in results if name == "F4" and key[0] == setting}, key=str)


def f4_runs(results: dict, setting: str, key: tuple, seeds: int) -> list[list[dict]]:
    return [results[("F4", (setting,) + key, s)] for s in range(seeds)]


def f4_measure(results: dict, setting: str, keys: list, seeds: int, target: float, measure: str) -> F4Measure:
    """Oracle, SkewScout and BSP megabytes under one measure (see training.sweep.MEASURES). A static knob or
    SkewScout counts when its seed-mean final accuracy (whole-run) or every seed (to-target) reaches the target."""
    fn = MEASURES[measure]

    def mb(key):
        runs = f4_runs(results, setting, key, seeds)
        if measure == "whole-run":
            return mean_bytes(runs) / 1e6 if mean_final(runs) >= target else None
        vals = [b / 1e6 for r in runs if (b := fn(r, target)) is not None]
        return float(np.mean(vals)) if len(vals) == seeds else None

    bsp_mb = mb(("bsp", None))
    rows = {}
    for row, algo, variant in F4_ROWS:
        if (algo, variant) not in keys:
            continue
        static = {k[1]: v for k in keys if k[0] == algo and not is_skewscout(k) and (v := mb(k)) is not None}
        knob = min(static, key=static.get) if static else None
        o, s_mb = static.get(knob), mb((algo, variant))
        rows[row] = MeasureRow(oracle_knob=knob, oracle_mb=o, skewscout_mb=s_mb,
                               ratio=s_mb / o if (s_mb and o) else None,
                               savings_vs_bsp=bsp_mb / s_mb if (s_mb and bsp_mb) else None)
    return F4Measure(bsp_mb, rows)


def _trajectory(rows: list[dict]) -> list[tuple]:
    return [(x["iteration"], x["knob"], x.get("skewscout_loss")) for x in rows]


def f4_row(results: dict, setting: str, keys: list, seeds: int, algo: str, variant: str, whole: F4Measure,
           row: str, target: float, iterations: int) -> F4Row:
    ss = f4_runs(results, setting, (algo, variant), seeds)
    w = whole.rows[row]
    ss_final = mean_final(ss)
    static = {k[1]: f4_runs(results, setting, k, seeds) for k in keys if k[0] == algo and not is_skewscout(k)}
    iso_ok = {k: mean_bytes(v) / 1e6 for k, v in static.items() if mean_final(v) >= ss_final - ISO_SLACK}
    iso_knob = min(iso_ok, key=iso_ok.get) if iso_ok else None
    ss_mb = mean_bytes(ss) / 1e6
    iso = SameAccuracy(knob=iso_knob, mb=iso_ok.get(iso_knob),
                       ratio=ss_mb / iso_ok[iso_knob] if iso_knob is not None else None, skewscout_final=ss_final)
    return F4Row(
        whole=w, bsp_mb=whole.bsp_mb, iso=iso, skewscout_mean_acc=mean_over_run(ss),
        oracle_mean_acc=mean_over_run(static[w.oracle_knob]) if w.oracle_knob in static else None,
        travel_share=float(np.mean([x[-1]["bytes_travel"] / x[-1]["bytes"] for x in ss])),
        trajectory_seed0=_trajectory(ss[0]), finals=[x[-1]["acc_mean"] for x in ss],
        trajectory_worst=_trajectory(min(ss, key=lambda rr: rr[-1]["acc_mean"])),
        oracle_loss_by_quarter=loss_by_quarter(static.get(w.oracle_knob), iterations),
        loosened_at=[next((x["iteration"] for x in rows if (x.get("knob") or 0) > F4_START[algo]), None)
                     for rows in ss],
        failing_knobs_loss_by_quarter={str(k): q for k, v in static.items()
                                       if mean_final(v) < target and (q := loss_by_quarter(v, iterations))})


def f4_summary(results: dict, seeds: int) -> dict[str, F4Setting]:
    out = {}
    for setting in f4_settings(results):
        keys = f4_keys(results, setting)
        bsp = f4_runs(results, setting, ("bsp", None), seeds)
        target = TARGET_REL * mean_final(bsp)
        iters = bsp[0][-1]["iteration"]
        whole, to_target = (f4_measure(results, setting, keys, seeds, target, m) for m in ("whole-run", "to-target"))
        rows = {row: f4_row(results, setting, keys, seeds, algo, variant, whole, row, target, iters)
                for row, algo, variant in F4_ROWS if (algo, variant) in keys}
        out[setting] = F4Setting(target=target, iterations=iters, whole_run=whole, to_target=to_target,
                                 lr_drops=len({x["lr"] for x in bsp[0]}) > 1, rows=rows)
    return out


def has_fedavg_loss(results: dict) -> bool:
    """Whether any static FedAvg run of F4 recorded SkewScout's loss (what the F4 loss figure plots)."""
    return any(name == "F4" and key[1] == "fedavg" and not is_skewscout(key[1:])
               and any("skewscout_loss" in x for x in rows) for (name, key, _), rows in results.items())


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
