"""From the study's runs to a typed summary: pure functions of the metrics rows, so the report, the figures and
summary.json all show the same numbers and each statistic is tested on rows built by hand. F1's and F5's
preconditions are here (F6-F8's in metrics_beyond.py); each is measured on control runs only.

``results`` maps (experiment, key, seed) to a run's metrics rows; an F4 key starts with its setting."""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field

import numpy as np

from training.study import metrics_beyond as beyond
from training.study.experiments import F4_CONTROLLERS, SKEWS
from training.study.portable import portable
from training.study.protocol import GRIDS, SETTINGS, grid_for, start_knobs
from training.study.stats import Check, Spread, finals, verdict

TARGET_REL = 0.95      # F4 target: 95% of BSP's final accuracy on the same skewed partitions
F4_BAR = 1.5           # the paper's claim: SkewScout within 1.5x of the Oracle's bytes
ISO_SLACK = 0.005      # "the same accuracy": within half a point of SkewScout's final accuracy
F1_ALGOS = ("bsp", "gaia", "fedavg", "dgc")
F2_MODELS = ("lenet_bn", "lenet_gn")
F5_ALGOS = ("bsp", "gaia", "fedavg")
F1_WITHIN = 1.0        # F1 precondition: the algorithm's IID run ends within this many points of BSP's IID run
F5_TEST_PHOTOS = 500   # F5 precondition: the owner-grouped test split holds at least this many photos


def within_bar(ratio: float | None) -> bool:
    """The paper's bar on the exact ratio (no rounding: 1.5000000000000002 is over it)."""
    return ratio is not None and ratio <= F4_BAR


@dataclass(frozen=True)
class AccuracyGap:
    """Final accuracy on IID partitions (or their control) and on skewed ones (None: not trained, its precondition
    failed on the controls)."""
    iid: Spread
    skew: Spread | None

    @property
    def loss_points(self) -> float | None:
        return None if self.skew is None else 100 * (self.iid.mean - self.skew.mean)

    @property
    def beyond_noise(self) -> bool:
        """The F1 bar: more than 2 points and more than the two spreads together."""
        return self.skew is not None and self.loss_points > 2 and self.loss_points > 100 * (self.iid.std
                                                                                            + self.skew.std)


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
    mnist: str | None = None          # MNIST-10k's idx folder (F1), as a placeholder
    f4_fedavg_loss: bool = False      # the static FedAvg runs recorded a loss (the F4 loss figure exists)
    engine: dict = field(default_factory=dict)   # the code versions runs are keyed by: "static", "skewscout"
    manifest_photos: dict = field(default_factory=dict)   # photos per partition and "test" (manifest.json)
    manifest_how: str = ""            # the command that built the manifest
    pending_runs: int = 0             # runs the finding still wanted when the invocation stopped (--stop-after)


@dataclass
class StudySummary:
    meta: StudyMeta
    f1: dict[str, AccuracyGap] | None = None
    f2: dict[str, AccuracyGap] | None = None
    f3: dict[float, Spread] | None = None
    f4: dict[str, F4Result] | None = None
    f5: dict[str, AccuracyGap] | None = None
    f6: list[beyond.F6Setting] | None = None
    f7: beyond.F7Summary | None = None
    f8: beyond.F8Summary | None = None
    skipped: list = field(default_factory=list)    # findings asked for without their input (F1: --mnist, F5, ...)
    previous: list = field(default_factory=list)   # findings kept from an earlier summary.json (not rerun)
    made_by: dict = field(default_factory=dict)    # finding -> the StudyMeta of the invocation whose runs it shows

    def meta_of(self, name: str) -> StudyMeta:
        return self.made_by.get(name, self.meta)

    def to_json(self) -> dict:
        """summary.json: the findings (F1..F8), the spreads, each finding's verdicts and the header of the
        invocation that made it."""
        out: dict = {}
        if self.f1 is not None:
            out["F1"] = {a: {"iid": g.iid.mean, "skew": g.skew and g.skew.mean, "loss_points": g.loss_points}
                         for a, g in self.f1.items()}
        if self.f2 is not None:
            out["F2"] = {m: g.loss_points for m, g in self.f2.items()}
        if self.f3 is not None:
            out["F3"] = {"acc": {s: 100 * v.mean for s, v in self.f3.items()}}
        if self.f4 is not None:
            out["F4"] = {st: asdict(r) for st, r in self.f4.items()}
        if self.f5 is not None:
            out["F5"] = {a: g.loss_points for a, g in self.f5.items()}
        if self.f6 is not None:
            out["F6"] = {"settings": [asdict(r) for r in self.f6]}
        if self.f7 is not None:
            out["F7"] = asdict(self.f7)
        if self.f8 is not None:
            out["F8"] = asdict(self.f8) | {"best": {k: beyond.f8_best(v) for k, v in self.f8.table.items()}}
        spread = {name: {k: asdict(g) for k, g in gaps.items()}
                  for name, gaps in (("F1", self.f1), ("F2", self.f2), ("F5", self.f5)) if gaps is not None}
        if self.f3 is not None:
            spread["F3"] = {str(s): asdict(v) for s, v in self.f3.items()}
        return out | {"spread": spread, "verdicts": verdicts(self), "meta": asdict(self.meta),
                      "made_by": {k: asdict(m) for k, m in self.made_by.items()}, "skipped": self.skipped,
                      "previous": self.previous}

    @classmethod
    def from_json(cls, d: dict, meta: StudyMeta | None = None) -> StudySummary:
        """Back from summary.json, folders made portable; one written before "spread" and "meta" existed gives F4
        (and F1's means) only, with ``meta`` supplied by the caller; F6 and F7 of the study before preconditions
        (no BSP control, no operating-point choice) are left out; F8's plain dicts become its typed summary."""
        m = dict(d.get("meta") or {})
        skipped = d.get("skipped", ["F5"] if m.pop("skipped_f5", False) else [])
        spread = d.get("spread", {})

        def gaps(name):
            if name in spread:
                return {k: AccuracyGap(Spread(**g["iid"]), g["skew"] and Spread(**g["skew"]))
                        for k, g in spread[name].items()}
            return None

        f1 = gaps("F1")
        if f1 is None and "F1" in d:
            nan = float("nan")
            f1 = {a: AccuracyGap(Spread(g["iid"], nan), Spread(g["skew"], nan)) for a, g in d["F1"].items()}
        f3 = {float(s): Spread(**v) for s, v in spread["F3"].items()} if "F3" in spread else None
        top = meta or meta_from_json(m, legacy="made_by" not in d)
        made_by = {k: meta_from_json(v) for k, v in d.get("made_by", {}).items()}
        if "made_by" not in d:        # a summary of one invocation (F1-F5) and beyond.py's F6-F8 beside it
            made_by = {k: top for k in ("F1", "F2", "F3", "F4", "F5") if k in d}
            if "F8" in d and "beyond_meta" in d:
                made_by["F8"] = meta_from_beyond(d["beyond_meta"])
        new_f6, new_f7 = "settings" in d.get("F6", {}), "tuning" in d.get("F7", {})
        return cls(meta=top, previous=d.get("previous", []), skipped=skipped,
                   f1=f1, f2=gaps("F2"), f3=f3, f5=gaps("F5"),
                   f4={st: f4_from_json(r) for st, r in d["F4"].items()} if "F4" in d else None,
                   f6=beyond.f6_from_json(d["F6"]["settings"]) if new_f6 else None,
                   f7=beyond.f7_from_json(d["F7"]) if new_f7 else None,
                   f8=beyond.f8_from_json(d["F8"]) if "F8" in d else None,
                   made_by={k: v for k, v in made_by.items() if (k != "F6" or new_f6) and (k != "F7" or new_f7)})


def meta_from_json(m: dict, legacy: bool = False) -> StudyMeta:
    """A StudyMeta back from JSON, its command and notes made portable (older summaries named this machine's
    folders); ``legacy``: a summary from before F6-F8 joined the study, whose default was F1-F5."""
    m = {k: v for k, v in m.items() if k in StudyMeta.__dataclass_fields__}
    m["command"] = portable(m.get("command", ""))
    if legacy and m["command"].startswith("flickr-mammal study") and "--experiments" not in m["command"]:
        m["command"] += " --experiments F1,F2,F3,F4,F5"       # that study's default, before F6-F8 joined it
    m["manifest_how"] = portable(m.get("manifest_how", ""))
    if m.get("manifest"):
        m["manifest"] = "MANIFEST"
    return StudyMeta(**m)


def meta_from_beyond(b: dict) -> StudyMeta:
    """F8's header as training/study/beyond.py wrote it (before F6-F8 joined the registry), with the command that
    makes the same runs now (the registry's F8 configs are beyond.py's)."""
    seeds = b.get("seeds", 0)
    command = f"flickr-mammal study --experiments F8 --seeds {seeds} --manifest MANIFEST --runs RUNS_DIR"
    return StudyMeta(data_name=b.get("data", "digits"), quick=False, iterations=b.get("iterations", 0),
                     seeds=seeds, command=command, seconds=b.get("seconds", 0),
                     runs=b.get("runs", 0), run_minutes=b.get("run_minutes", 0.0),
                     manifest="MANIFEST" if b.get("manifest", "none") != "none" else None,
                     engine={v: f"{n} runs" for v, n in b.get("run_versions", {}).items()},
                     manifest_photos=b.get("manifest_photos", {}), manifest_how=portable(b.get("manifest_how", "")))


def f4_from_json(d: dict) -> F4Result:
    algos = {a: F4Algo(**(v | {"runs": [F4Run(**r) for r in v["runs"]]})) for a, v in d["algos"].items()}
    return F4Result(**(d | {"algos": algos}))


# ---- from runs ---------------------------------------------------------------------------------------------------

def gap(results: dict, name: str, iid_key, skew_key, seeds: int) -> AccuracyGap:
    """The skewed side may be missing (not trained: its precondition failed on the controls)."""
    return AccuracyGap(Spread.of(finals(results, name, iid_key, seeds)),
                       Spread.maybe(finals(results, name, skew_key, seeds)))


def f1_summary(results: dict, seeds: int) -> dict[str, AccuracyGap]:
    return {a: gap(results, "F1", (a, "iid"), (a, "label-exclusive"), seeds) for a in F1_ALGOS
            if any(("F1", (a, "iid"), x) in results for x in range(seeds))}


def f1_check(f1: dict[str, AccuracyGap], algo: str) -> Check | None:
    """IID training of ``algo`` ends within F1_WITHIN points of BSP's IID accuracy (controls only): where it does
    not, the workload is too hard for the algorithm itself and the skew's cost cannot be read off."""
    if "bsp" not in f1 or algo not in f1:
        return None
    within = 100 * (f1["bsp"].iid.mean - f1[algo].iid.mean)
    return Check(within <= F1_WITHIN, {"bsp": f1["bsp"].iid, "iid": f1[algo].iid, "below_bsp_points": within})


def f1_verdict(f1: dict[str, AccuracyGap], algo: str) -> str:
    return verdict(f1_check(f1, algo), lambda: None if f1[algo].skew is None else f1[algo].beyond_noise)


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
    return {a: gap(results, "F5", (a, "same data, IID"), (a, "geographic"), seeds) for a in F5_ALGOS
            if any(("F5", (a, "same data, IID"), x) in results for x in range(seeds))}


def f5_check(meta: StudyMeta) -> Check | None:
    """The owner-grouped test split holds at least F5_TEST_PHOTOS photos (a fact of the export, known before any
    run): on fewer, one photo is worth about a point and a skew's cost drowns in it."""
    test = meta.manifest_photos.get("test")
    return None if test is None else Check(test >= F5_TEST_PHOTOS, {"test_photos": test})


def f5_verdict(f5: dict[str, AccuracyGap], algo: str, meta: StudyMeta) -> str:
    """Geographic partitions cost the algorithm accuracy against the same photos split IID, beyond noise."""
    return verdict(f5_check(meta), lambda: None if algo not in f5 or f5[algo].skew is None else f5[algo].beyond_noise)


def checks(name: str, results: dict, meta: StudyMeta) -> dict[str, Check | None]:
    """A finding's preconditions per setting (the ``setting`` of its treatment runs), from its runs so far; the
    study trains a treatment only where this holds. Findings without one: {}."""
    seeds = meta.seeds
    if name == "F1":
        f1 = f1_summary(results, seeds)
        return {a: f1_check(f1, a) for a in F1_ALGOS if a != "bsp"}
    if name == "F5":
        return {"geographic": f5_check(meta)}
    if name == "F6":
        return {r.topology: beyond.f6_check(r) for r in beyond.f6_summary(results, seeds)}
    if name == "F7":
        f7 = beyond.f7_summary(results, seeds)
        return {d: beyond.f7_check(f7, d) for d in beyond.F7_DELAYS}
    return {}


def verdicts(s: StudySummary) -> dict[str, dict[str, str]]:
    """Each precondition-checked finding's verdict per setting, for summary.json's readers (the report renders the
    same functions)."""
    out = {}
    if s.f1 is not None:
        out["F1"] = {a: f1_verdict(s.f1, a) for a in s.f1 if a != "bsp"}
    if s.f5 is not None:
        out["F5"] = {a: f5_verdict(s.f5, a, s.meta_of("F5")) for a in s.f5}
    if s.f6 is not None:
        out["F6"] = {r.topology: beyond.f6_verdict(r) for r in s.f6}
    if s.f7 is not None:
        out["F7"] = {d: beyond.f7_verdict(s.f7, d) for d in beyond.F7_DELAYS}
    return out


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


INPUTS = {"F1": "mnist", "F5": "manifest"}      # findings that need an input the invocation may not have


def summarize(results: dict, names: list[str], meta: StudyMeta) -> StudySummary:
    """Every asked-for finding from the runs; F1 without MNIST-10k and F5 without a manifest are marked skipped."""
    s = StudySummary(meta=meta, made_by={n: meta for n in names})
    seeds = meta.seeds
    for name in names:
        if name in INPUTS and not getattr(meta, INPUTS[name]):
            s.skipped.append(name)
            continue
        setattr(s, name.lower(), SUMMARIES[name](results, seeds))
    return s


SUMMARIES = {"F1": f1_summary, "F2": f2_summary, "F3": f3_summary, "F4": f4_summary, "F5": f5_summary,
             "F6": beyond.f6_summary, "F7": beyond.f7_summary, "F8": beyond.f8_summary}
