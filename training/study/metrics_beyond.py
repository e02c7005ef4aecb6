"""F6-F8's typed summaries, pure functions of the runs' metrics rows (as metrics.py is for F1-F5), with F6's and
F7's preconditions: each is measured on control runs only and checked before the treatment is judged."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.study.experiments import (
    F6_SETTINGS,
    F7_DELAYS,
    F7_GRID,
    F7_STABLE,
    F7_STALENESS,
    F8_CONTROL,
    F8_SKEWS,
    REMEDIES,
    f7_choice,
)
from training.study.stats import PENDING, Check, Spread, beyond_noise, finals, verdict

F6_GAP = 3.0          # precondition: DSGDm ends at least this many points below BSP on the same partitions
F6_SHARE = 0.5        # reproduced: QGM closes at least half of that gap, its gain over DSGDm beyond the spreads
F7_GROWTH = 2.0       # reproduced: skew's extra cost at the largest s is above this many points and above the
#                       smallest s's by as much, beyond the spreads, and never falls from one s to the next


# ---- F6 ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class F6Setting:
    """One topology: BSP and DSGDm (controls) and QGM (treatment) on the same partitions, over seeds."""
    topology: str
    nodes: int
    partition: str
    bsp: Spread | None
    dsgdm: Spread | None
    qgm: Spread | None = None
    share: Spread | None = None      # per seed: the share of the DSGDm -> BSP gap QGM closes
    qgm_mb: float | None = None

    @property
    def gap_points(self) -> float | None:
        return None if self.bsp is None or self.dsgdm is None else 100 * (self.bsp.mean - self.dsgdm.mean)

    @property
    def gain_points(self) -> float | None:
        return None if self.qgm is None or self.dsgdm is None else 100 * (self.qgm.mean - self.dsgdm.mean)

    @property
    def share_of_means(self) -> float | None:
        gap, gain = self.gap_points, self.gain_points
        return None if gap is None or gain is None or gap == 0 else gain / gap


def partition_text(part: dict) -> str:
    return part["name"] + (f" α = {part['alpha']:g}" if "alpha" in part else "")


def f6_summary(results: dict, seeds: int) -> list[F6Setting]:
    out = []
    for topo, (k, part) in F6_SETTINGS.items():
        acc = {a: finals(results, "F6", (topo, a), seeds) for a in ("bsp", "dsgdm", "qgm")}
        per_seed = [(results[("F6", (topo, "qgm"), s)][-1]["acc_mean"] - d) / (b - d)
                    for s in range(seeds) if all(("F6", (topo, a), s) in results for a in ("bsp", "dsgdm", "qgm"))
                    and (b := results[("F6", (topo, "bsp"), s)][-1]["acc_mean"])
                    != (d := results[("F6", (topo, "dsgdm"), s)][-1]["acc_mean"])]
        mb = [results[("F6", (topo, "qgm"), s)][-1]["bytes"] / 1e6 for s in range(seeds)
              if ("F6", (topo, "qgm"), s) in results]
        out.append(F6Setting(topo, k, partition_text(part), Spread.maybe(acc["bsp"]), Spread.maybe(acc["dsgdm"]),
                             Spread.maybe(acc["qgm"]), Spread.maybe(per_seed), float(np.mean(mb)) if mb else None))
    return out


def f6_check(r: F6Setting) -> Check | None:
    """DSGDm at least F6_GAP points below BSP on the same partitions (controls only), else no gap to close."""
    if r.gap_points is None:
        return None
    return Check(r.gap_points >= F6_GAP, {"bsp": r.bsp, "dsgdm": r.dsgdm, "gap_points": r.gap_points})


def f6_verdict(r: F6Setting) -> str:
    def judge():
        if r.share_of_means is None:
            return None
        return r.share_of_means >= F6_SHARE and beyond_noise(r.gain_points, r.dsgdm, r.qgm)
    return verdict(f6_check(r), judge)


# ---- F7 ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class F7Tuning:
    """One (momentum, LR) of the grid: IID, seed 0, fixed delay; final accuracy at s = 0 and at the largest s."""
    momentum: float
    lr: float
    acc_s0: float
    acc_smax: float


@dataclass(frozen=True)
class F7Cell:
    partition: str
    delay: str
    staleness: int
    acc: Spread


@dataclass(frozen=True)
class F7Extra:
    """Skew's extra cost of staleness s in points, per seed: (label-exclusive s=0 − s) − (IID s=0 − s)."""
    delay: str
    staleness: int
    points: Spread


@dataclass(frozen=True)
class F7Summary:
    momentum: float | None
    lr: float | None
    tuning: list[F7Tuning]
    cells: list[F7Cell]
    extra: list[F7Extra]

    def cell(self, partition: str, delay: str, s: int) -> Spread | None:
        return next((c.acc for c in self.cells if (c.partition, c.staleness) == (partition, s)
                     and (s == 0 or c.delay == delay)), None)


def f7_summary(results: dict, seeds: int) -> F7Summary:
    tuning = [F7Tuning(m, lr, results[("F7", ("tuning", m, lr, 0), 0)][-1]["acc_mean"],
                       results[("F7", ("tuning", m, lr, F7_STALENESS[-1]), 0)][-1]["acc_mean"])
              for m, lr in F7_GRID if all(("F7", ("tuning", m, lr, s), 0) in results for s in (0, F7_STALENESS[-1]))]
    choice = f7_choice(results)
    cells, extra = [], []
    for delay in F7_DELAYS:
        for s in F7_STALENESS:
            for part in ("iid", "label-exclusive"):
                acc = Spread.maybe(finals(results, "F7", (part, delay, s), seeds))
                if acc and (s or delay == F7_DELAYS[0]):          # s = 0 is BSP whatever the delay: once
                    cells.append(F7Cell(part, delay, s, acc))
            if s:
                def final(part, st, seed, delay=delay):
                    return results[("F7", (part, delay, st), seed)][-1]["acc_mean"]
                per_seed = [100 * ((final("label-exclusive", 0, x) - final("label-exclusive", s, x))
                                   - (final("iid", 0, x) - final("iid", s, x))) for x in range(seeds)
                            if all(("F7", (p, delay, st), x) in results for p in ("iid", "label-exclusive")
                                   for st in (0, s))]
                if per_seed:
                    extra.append(F7Extra(delay, s, Spread.of(per_seed)))
    return F7Summary(*(choice or (None, None)), tuning=tuning, cells=cells, extra=extra)


def f7_check(f7: F7Summary, delay: str) -> Check | None:
    """IID training stable at every s with this delay: at least F7_STABLE of its s = 0 accuracy (controls only)."""
    base = f7.cell("iid", delay, 0)
    accs = {s: f7.cell("iid", delay, s) for s in F7_STALENESS[1:]}
    if base is None or any(a is None for a in accs.values()):
        return None
    ratios = {s: a.mean / base.mean for s, a in accs.items()}
    return Check(all(r >= F7_STABLE for r in ratios.values()), {"s0": base, "ratios": ratios})


def f7_extras(f7: F7Summary, delay: str) -> list[F7Extra]:
    return sorted((e for e in f7.extra if e.delay == delay), key=lambda e: e.staleness)


def f7_verdict(f7: F7Summary, delay: str) -> str:
    def judge():
        ex = f7_extras(f7, delay)
        if len(ex) < len(F7_STALENESS) - 1:
            return None
        first, last = ex[0].points, ex[-1].points
        rise = last.mean - first.mean
        steady = all(b.points.mean >= a.points.mean - max(a.points.std, b.points.std, 0.5) for a, b in zip(ex, ex[1:]))
        return last.mean > F7_GROWTH and rise > F7_GROWTH and rise > first.std + last.std and steady
    return verdict(f7_check(f7, delay), judge)


# ---- F8 ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunStats:
    """Final accuracy over seeds, whole-run MB, and how far apart the partitions' models end (max − min)."""
    mean: float
    std: float
    n: int
    mb: float
    partition_spread: float = 0.0

    @classmethod
    def of(cls, runs: list[list[dict]]) -> RunStats:
        s = Spread.of([r[-1]["acc_mean"] for r in runs])
        return cls(s.mean, s.std, len(runs), float(np.mean([r[-1]["bytes"] for r in runs])) / 1e6,
                   float(np.mean([max(r[-1]["acc"]) - min(r[-1]["acc"]) if r[-1].get("acc") else 0.0 for r in runs])))

    @classmethod
    def from_json(cls, d: dict) -> RunStats:
        return cls(d["mean"], d["std"], d.get("n", 0), d["mb"], d.get("partition_spread", 0.0))


@dataclass(frozen=True)
class F8Summary:
    table: dict[str, dict[str, RunStats]]      # skew -> remedy -> stats
    controls: dict[str, RunStats]              # skew -> FedAvg + GN on the same data split IID
    geo_partitions: int | None = None


def f8_summary(results: dict, seeds: int) -> F8Summary | None:
    def runs(key):
        return [results[("F8", key, s)] for s in range(seeds) if ("F8", key, s) in results]
    table = {skew: {n: RunStats.of(r) for n in REMEDIES if (r := runs((skew, n)))} for skew in F8_SKEWS}
    geo = runs(("geographic", "FedAvg + GN"))
    return F8Summary({k: v for k, v in table.items() if v},
                     {skew: RunStats.of(r) for skew in F8_SKEWS if (r := runs((skew, F8_CONTROL)))},
                     len(geo[0][-1]["acc"]) if geo and geo[0][-1].get("acc") else None)


def f8_best(rows: dict[str, RunStats]) -> tuple[str, str]:
    """The best remedy, and the cheapest within a point (or the best's spread) of it."""
    top = max(rows, key=lambda n: rows[n].mean)
    near = [n for n in rows if 100 * (rows[top].mean - rows[n].mean) <= max(1.0, 100 * rows[top].std)]
    return top, min(near, key=lambda n: rows[n].mb)


def f8_from_json(d: dict) -> F8Summary:
    return F8Summary({skew: {n: RunStats.from_json(r) for n, r in rows.items()} for skew, rows in d["table"].items()},
                     {skew: RunStats.from_json(r) for skew, r in d.get("controls", {}).items()},
                     d.get("geo_partitions"))


def f7_from_json(d: dict) -> F7Summary:
    return F7Summary(d["momentum"], d["lr"], [F7Tuning(**t) for t in d["tuning"]],
                     [F7Cell(**(c | {"acc": Spread(**c["acc"])})) for c in d["cells"]],
                     [F7Extra(**(e | {"points": Spread(**e["points"])})) for e in d["extra"]])


def f6_from_json(rows: list[dict]) -> list[F6Setting]:
    def sp(v):
        return None if v is None else Spread(**v)
    return [F6Setting(**(r | {k: sp(r[k]) for k in ("bsp", "dsgdm", "qgm", "share")})) for r in rows]


__all__ = ["PENDING", "F6Setting", "F7Summary", "F8Summary", "RunStats"]
