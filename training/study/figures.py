"""The study's PNG figures: F1-F3 and F5-F8 from the summary, F4's from the runs (every knob, every evaluation)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from training.study.experiments import F7_DELAYS, F7_STALENESS, SKEWS
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
    if summary.f6 is not None:
        f6_bars(out / "f6_qgm.png", summary)
    if summary.f7 is not None:
        f7_lines(out / "f7_staleness.png", summary)
    if summary.f8 is not None:
        f8_scatter(out / "f8_remedies.png", summary)


def gap_bars(path: Path, gaps: dict[str, AccuracyGap], groups: list[str], title: str) -> None:
    """Bars of IID vs label-exclusive accuracy per group, mean ± std over seeds."""
    plt = _pyplot()
    series = {"IID": [g.iid for g in gaps.values()], "label-exclusive (non-IID)": [g.skew for g in gaps.values()]}
    x = np.arange(len(groups))
    w = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups)), 4))
    for i, (name, spreads) in enumerate(series.items()):      # a treatment not trained (precondition failed): 0
        ax.bar(x + i * w - 0.4 + w / 2, [100 * s.mean if s else 0 for s in spreads], w,
               yerr=[100 * s.std if s else 0 for s in spreads], capsize=3, label=name)
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


ALGO_LABEL = {"gaia": "Gaia (knob: threshold T0)", "fedavg": "FedAvg (knob: Iter_local)",
              "dgc": "DGC (knob: sparsity)"}
START_MARKERS = {"tightest": "v", "middle": "*", "loosest": "^"}


def f4_accuracy_vs_bytes(path: Path, summary: StudySummary) -> None:
    """Final accuracy against whole-run bytes per setting: each static knob, SkewScout as shipped from each start
    knob, the paper's SkewScout, BSP and the target; the evaluation settings only where there are any (the tuning
    ones are in the report's table)."""
    import matplotlib

    plt = _pyplot()
    f4 = {k: r for k, r in summary.f4.items() if r.group == "evaluation"} or summary.f4
    fig, axes = plt.subplots(len(f4), len(ALGO_LABEL), figsize=(5.5 * len(ALGO_LABEL), 3.6 * len(f4)),
                             squeeze=False)
    for i, r in enumerate(f4.values()):
        for j, algo in enumerate(ALGO_LABEL):
            ax, a = axes[i][j], r.algos.get(algo)
            if a is None:                        # a summary written before DGC joined F4
                ax.axis("off")
                continue
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


def f6_bars(path: Path, summary: StudySummary) -> None:
    """BSP, DSGDm and QGM per topology; QGM's share of the gap above its bar."""
    plt = _pyplot()
    rows = summary.f6
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4.2))
    series = (("bsp", "BSP (exact average)", "tab:green"), ("dsgdm", "DSGDm (local momentum)", "tab:gray"),
              ("qgm", "QG-DSGDm (quasi-global momentum)", "tab:blue"))
    for i, (algo, label, color) in enumerate(series):
        vals = [getattr(r, algo) for r in rows]
        ax.bar(x + (i - 1) * 0.27, [100 * v.mean if v else 0 for v in vals], 0.27,
               yerr=[100 * v.std if v else 0 for v in vals], capsize=3, label=label, color=color)
    for xi, r in zip(x, rows):
        if r.share_of_means is not None:
            ax.annotate(f"{100 * r.share_of_means:.0f}% of the gap", (xi + 0.27, 101), ha="center", fontsize=8)
    ax.set_xticks(x, [f"{r.topology} ({r.nodes} nodes)\n{r.partition}" for r in rows])
    ax.set_ylabel("test accuracy, mean over partitions (%)")
    ax.set_ylim(0, 108)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"F6: QGM vs DSGDm vs BSP on gossip topologies ({summary.meta_of('F6').seeds} seeds)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def f7_lines(path: Path, summary: StudySummary) -> None:
    """Accuracy against s, IID and label-exclusive, one panel per delay."""
    plt = _pyplot()
    f7 = summary.f7
    fig, axes = plt.subplots(1, len(F7_DELAYS), figsize=(6 * len(F7_DELAYS), 4.2), squeeze=False)
    for ax, delay in zip(axes[0], F7_DELAYS):
        for part, color in (("iid", "tab:green"), ("label-exclusive", "tab:red")):
            pts = [(i, c) for i, s in enumerate(F7_STALENESS) if (c := f7.cell(part, delay, s)) is not None]
            if pts:
                ax.errorbar([i for i, _ in pts], [100 * c.mean for _, c in pts], [100 * c.std for _, c in pts],
                            marker="o", capsize=3, color=color, label=f"{part} partitions")
        ax.set_xticks(range(len(F7_STALENESS)), [str(s) for s in F7_STALENESS])
        ax.set_xlabel(f"staleness s ({delay} delay; 0 = BSP)")
        ax.set_ylabel("test accuracy, mean over partitions (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"F7: SSP at momentum {f7.momentum}, LR {f7.lr} (chosen on IID runs), IID vs label-exclusive",
                 fontsize=10)
    _save(fig, path)


def f8_scatter(path: Path, summary: StudySummary) -> None:
    """Accuracy against bytes per remedy, one panel per skew, the skew's IID control dashed."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plt = _pyplot()
    f8 = summary.f8
    skews = list(f8.table)
    fig, axes = plt.subplots(1, len(skews), figsize=(5.2 * len(skews), 4.6), squeeze=False)
    for ax, skew in zip(axes[0], skews):
        for i, (name, r) in enumerate(f8.table[skew].items()):
            ax.errorbar(r.mb, 100 * r.mean, yerr=100 * r.std, marker="o", capsize=3, color=f"C{i}", label=name)
        if c := f8.controls.get(skew):
            ax.axhline(100 * c.mean, color="grey", ls="--", lw=1, label="FedAvg + GN, same data IID")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())          # overlapping 2×10¹-style minor labels otherwise
        ax.set_xlabel("communication, all partitions (MB, log scale)")
        ax.set_ylabel("test accuracy, mean over partitions (%)")
        ax.set_title(f"{skew} partitions", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"F8: the remedies, accuracy against bytes ({summary.meta_of('F8').seeds} seeds)", fontsize=11)
    _save(fig, path)
