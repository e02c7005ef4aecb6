"""The study's PNG figures: F1-F3 from the summary, F4's from the runs (every knob, every evaluation)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from training.study.experiments import SKEWS
from training.study.metrics import AccuracyGap, StudySummary


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def draw_all(out: Path, summary: StudySummary, results: dict) -> None:
    if summary.f1 is not None:
        gap_bars(out / "f1_skew_cost.png", summary.f1, list(summary.f1),
                 "F1: accuracy with IID vs label-skewed partitions")
    if summary.f2 is not None:
        gap_bars(out / "f2_bn_vs_gn.png", summary.f2, ["BN-LeNet", "GN-LeNet"], "F2: BSP with BatchNorm vs GroupNorm")
    if summary.f3 is not None:
        skew_curve(out / "f3_degree_of_skew.png", summary)
    if summary.f4 is not None:
        f4_accuracy_vs_bytes(out / "f4_skewscout.png", summary)


def gap_bars(path: Path, gaps: dict[str, AccuracyGap], groups: list[str], title: str) -> None:
    """Bars of IID vs label-exclusive accuracy per group, mean ± std over seeds."""
    plt = _pyplot()
    series = {"IID": [g.iid for g in gaps.values()], "label-exclusive (non-IID)": [g.skew for g in gaps.values()]}
    x = np.arange(len(groups))
    w = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups)), 4))
    for i, (name, spreads) in enumerate(series.items()):
        ax.bar(x + i * w - 0.4 + w / 2, [100 * s.mean for s in spreads], w, yerr=[100 * s.std for s in spreads],
               capsize=3, label=name)
    ax.set_xticks(x, groups)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(title="partitions")
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def skew_curve(path: Path, summary: StudySummary) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar([100 * s for s in SKEWS], [100 * v.mean for v in summary.f3.values()],
                yerr=[100 * v.std for v in summary.f3.values()], marker="o", capsize=3, label="FedAvg, Iter_local=20")
    ax.set_xlabel("degree of skew (% of each class in its home partition)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("F3: accuracy falls as label skew grows")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def mb_label(v: float, pos=None, minor: bool = False) -> str:
    """Plain numbers on a log axis: every decade, and 2 and 5 between them (other minor ticks would overlap)."""
    if v <= 0:
        return ""
    mantissa = round(v / 10 ** np.floor(np.log10(v)))
    return f"{v:g}" if not minor or mantissa in (2, 5) else ""


ALGO_LABEL = {"gaia": "Gaia (knob: threshold T0)", "fedavg": "FedAvg (knob: Iter_local)"}
START_MARKERS = {"tightest": "v", "middle": "*", "loosest": "^"}


def f4_accuracy_vs_bytes(path: Path, summary: StudySummary) -> None:
    """Final accuracy against whole-run bytes per setting: each static knob, SkewScout as shipped from each start
    knob, the paper's SkewScout, BSP and the target; the evaluation settings only where there are any (the tuning
    ones are in the report's table)."""
    import matplotlib

    plt = _pyplot()
    f4 = {k: r for k, r in summary.f4.items() if r.group == "evaluation"} or summary.f4
    fig, axes = plt.subplots(len(f4), 2, figsize=(11, 3.6 * len(f4)), squeeze=False)
    for i, r in enumerate(f4.values()):
        for j, algo in enumerate(ALGO_LABEL):
            ax, a = axes[i][j], r.algos[algo]
            static = sorted(((mb, 100 * acc, k) for k, (acc, mb) in a.static.items()))
            ax.plot([p[0] for p in static], [p[1] for p in static], "o-", color="tab:green", label="static knob")
            for x, y, k in static:
                ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
            for run in a.runs:
                shipped = run.controller == "skewscout"
                ax.plot([run.mb], [100 * run.final], START_MARKERS[run.start] if shipped else "P", markersize=11,
                        color="tab:blue" if shipped else "tab:purple", linestyle="none",
                        label=f"SkewScout from {run.start}" if shipped else "the paper's SkewScout (middle)")
            ax.plot([r.bsp_mb], [100 * r.bsp_final], "s", color="tab:gray", label="BSP")
            ax.axhline(100 * r.target, color="tab:red", linestyle="--", linewidth=1, label="target")
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(mb_label))
            ax.set_xlabel("whole-run communication, all partitions (MB, log)")
            ax.set_ylabel("final accuracy (%)")
            ax.set_title(f"{r.name} ({r.group}): {ALGO_LABEL[algo]}", fontsize=8)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=6, loc="lower right")
    fig.suptitle("F4: final accuracy vs bytes — static knobs, SkewScout from each start knob, BSP")
    _save(fig, path)
