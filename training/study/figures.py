"""The study's PNG figures: F1-F3 from the summary, F4's from the runs (every knob, every evaluation)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from training.study.experiments import F4_SIGMA, SKEWS
from training.study.metrics import AccuracyGap, StudySummary, f4_keys, f4_runs, is_skewscout, mean_bytes, mean_final


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
        seeds = summary.meta.seeds
        f4_accuracy_vs_bytes(out / "f4_skewscout.png", results, seeds, summary)
        f4_accuracy_over_time(out / "f4_accuracy_over_time.png", results, seeds, summary)
        if summary.meta.f4_fedavg_loss:
            f4_fedavg_loss(out / "f4_fedavg_loss.png", results, seeds, summary)


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
SKEWSCOUT_MARKERS = {"skewscout": ("*", 14, "tab:blue", "SkewScout (as shipped)"),
                     "skewscout-paper": ("P", 11, "tab:purple", "the paper's SkewScout")}


def _target_line(ax, target: float, label: str) -> None:
    ax.axhline(100 * target, color="tab:red", linestyle="--", linewidth=1, label=label)


def f4_accuracy_vs_bytes(path: Path, results: dict, seeds: int, summary: StudySummary) -> None:
    """Final accuracy against whole-run bytes: each static knob, both SkewScouts and BSP, per setting."""
    import matplotlib

    plt = _pyplot()
    f4 = summary.f4
    fig, axes = plt.subplots(len(f4), 2, figsize=(11, 4 * len(f4)), squeeze=False)
    for i, (setting, s) in enumerate(f4.items()):
        keys = f4_keys(results, setting)
        for j, algo in enumerate(ALGO_LABEL):
            ax = axes[i][j]
            pts = []
            for k in keys:
                if k[0] != algo:
                    continue
                runs = f4_runs(results, setting, k, seeds)
                pts.append((k[1], mean_bytes(runs) / 1e6, 100 * mean_final(runs),
                            100 * float(np.std([x[-1]["acc_mean"] for x in runs]))))
            static = sorted([p for p in pts if not str(p[0]).startswith("skewscout")], key=lambda p: p[1])
            ax.errorbar([p[1] for p in static], [p[2] for p in static], yerr=[p[3] for p in static], marker="o",
                        color="tab:green", capsize=3, label="static knob (grid)")
            for knob, x, y, _ in static:
                ax.annotate(str(knob), (x, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
            for knob, x, y, e in pts:
                if knob in SKEWSCOUT_MARKERS:
                    marker, size, color, label = SKEWSCOUT_MARKERS[knob]
                    ax.errorbar([x], [y], yerr=[e], marker=marker, markersize=size, color=color, capsize=3,
                                linestyle="none", label=label)
            bsp = f4_runs(results, setting, ("bsp", None), seeds)
            ax.plot([bsp[0][-1]["bytes"] / 1e6], [100 * mean_final(bsp)], "s", color="tab:gray", label="BSP")
            _target_line(ax, s.target, f"target {100 * s.target:.1f}%")
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(mb_label))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: mb_label(v, minor=True)))
            ax.set_xlabel("communication over the whole run, all partitions (MB, log scale)")
            ax.set_ylabel("final test accuracy (%)")
            ax.set_title(f"{setting}, {s.iterations} it: {ALGO_LABEL[algo]}", fontsize=10)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("F4: final accuracy vs bytes — static knobs, SkewScout, BSP (label-exclusive, mean ± std over seeds)")
    _save(fig, path)


def f4_accuracy_over_time(path: Path, results: dict, seeds: int, summary: StudySummary) -> None:
    """Accuracy during training: BSP, the Oracle's knob and both SkewScouts, mean over seeds."""
    plt = _pyplot()
    f4 = summary.f4
    fig, axes = plt.subplots(len(f4), 2, figsize=(11, 3.6 * len(f4)), squeeze=False)
    for i, (setting, s) in enumerate(f4.items()):
        for j, algo in enumerate(ALGO_LABEL):
            ax = axes[i][j]
            oracle_knob = s.rows[algo].whole.oracle_knob
            curves = [("BSP", ("bsp", None), "tab:gray"), ("SkewScout (as shipped)", (algo, "skewscout"), "tab:blue")]
            if ("F4", (setting, algo, "skewscout-paper"), 0) in results:
                curves.append(("the paper's SkewScout", (algo, "skewscout-paper"), "tab:purple"))
            if oracle_knob is not None:
                curves.insert(1, (f"Oracle (static {oracle_knob})", (algo, oracle_knob), "tab:green"))
            for name, key, col in curves:
                runs = f4_runs(results, setting, key, seeds)
                its = [x["iteration"] for x in runs[0]]
                acc = 100 * np.mean([[x["acc_mean"] for x in rr] for rr in runs], axis=0)
                ax.plot(its, acc, marker=".", color=col, label=name)
            _target_line(ax, s.target, "target")
            ax.set_xlabel("iteration")
            ax.set_ylabel("test accuracy, mean of partitions (%)")
            ax.set_ylim(0, 100)
            ax.set_title(f"{setting}: {ALGO_LABEL[algo]}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("F4: accuracy during training (LR ×0.1 at 50% and 75% of the run except on constant LR; mean over "
                 "seeds)")
    _save(fig, path)


def f4_fedavg_loss(path: Path, results: dict, seeds: int, summary: StudySummary) -> None:
    """The loss the immovable SkewScout of each static FedAvg run recorded, against σ."""
    plt = _pyplot()
    settings = list(summary.f4)
    fig, axes = plt.subplots(1, len(settings), figsize=(5.5 * len(settings), 3.8), squeeze=False)
    for ax, setting in zip(axes[0], settings):
        keys = sorted((k for k in f4_keys(results, setting) if k[0] == "fedavg" and not is_skewscout(k)),
                      key=lambda k: k[1])
        for k in keys:
            runs = f4_runs(results, setting, k, seeds)
            pts: dict[int, list[float]] = {}
            for r in runs:
                for x in r:
                    if "skewscout_loss" in x:
                        pts.setdefault(x["iteration"], []).append(x["skewscout_loss"])
            if pts:
                its = sorted(pts)
                hit = mean_final(runs) >= summary.f4[setting].target
                ax.plot(its, [np.mean(pts[i]) for i in its], marker=".", linestyle="-" if hit else ":",
                        label=f"Iter_local {k[1]} ({'reaches' if hit else 'misses'} the target)")
        ax.axhline(F4_SIGMA, color="tab:red", linestyle="--", linewidth=1, label=f"σ = {F4_SIGMA}")
        ax.set_xlabel("iteration")
        ax.set_ylabel("measured loss: kept model − average (accuracy)")
        ax.set_title(setting, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("F4: the skew-induced loss FedAvg's average carries at each static knob (mean over seeds; "
                 "dotted: final accuracy below the target)")
    _save(fig, path)
