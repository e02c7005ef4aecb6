"""F6–F8's PNG figures, from the F6–F8 summary alone (training/study/beyond.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from training.study.figures import _pyplot, _save


def draw_all(out: Path, summary: dict) -> None:
    if summary.get("F6"):
        f6_bars(out / "f6_qgm.png", summary["F6"], summary.get("beyond_meta", {}))
    if summary.get("F7"):
        f7_lines(out / "f7_staleness.png", summary["F7"], summary.get("beyond_meta", {}))
    if summary.get("F8"):
        f8_scatter(out / "f8_remedies.png", summary["F8"], summary.get("beyond_meta", {}))


def _subtitle(meta: dict) -> str:
    return (f"{meta.get('data', '')}, {meta.get('iterations', '')} iterations, mean ± std over "
            f"{meta.get('seeds', '')} seeds")


def f6_bars(path: Path, f6: dict, meta: dict) -> None:
    plt = _pyplot()
    rows = f6["rows"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for i, (algo, label, color) in enumerate((("dsgdm", "DSGDm (local momentum)", "tab:gray"),
                                              ("qgm", "QG-DSGDm (quasi-global momentum)", "tab:blue"))):
        ax.bar(x + (i - 0.5) * 0.38, [100 * r[algo]["mean"] for r in rows], 0.38,
               yerr=[100 * r[algo]["std"] for r in rows], capsize=3, label=label, color=color)
    for xi, r in zip(x, rows):
        top = 100 * max(r["dsgdm"]["mean"] + r["dsgdm"]["std"], r["qgm"]["mean"] + r["qgm"]["std"])
        ax.annotate(f"{r['gain']:+.1f}", (xi, top + 1), ha="center", fontsize=9)
    nodes = {"ring": meta.get("k", 8), "social": meta.get("k_social", 32)}
    ax.set_xticks(x, [f"{r['topology']} ({nodes[r['topology']]} nodes)\nDirichlet α = {r['alpha']:g}" for r in rows])
    ax.set_ylabel("test accuracy, mean over partitions (%)")
    ax.set_ylim(0, 105)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"F6: QGM vs DSGDm on gossip topologies (label above: QGM − DSGDm, points)\n{_subtitle(meta)}",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def f7_lines(path: Path, f7: dict, meta: dict) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for part, color in (("iid", "tab:green"), ("label-exclusive", "tab:red")):
        rows = sorted((r for r in f7["rows"] if r["partition"] == part), key=lambda r: r["staleness"])
        s = [r["staleness"] for r in rows]
        ax.errorbar(range(len(s)), [100 * r["acc"]["mean"] for r in rows], [100 * r["acc"]["std"] for r in rows],
                    marker="o", capsize=3, color=color, label=f"{part} partitions")
        ax.set_xticks(range(len(s)), [str(v) for v in s])
    ax.set_xlabel("staleness s (iterations the other partitions' gradients arrive late; 0 = BSP)")
    ax.set_ylabel("test accuracy, mean over partitions (%)")
    ax.legend(fontsize=8)
    ax.set_title(f"F7: bounded staleness (SSP, fixed delay) with IID vs label-exclusive data\n{_subtitle(meta)}",
                 fontsize=10)
    ax.grid(alpha=0.3)
    _save(fig, path)


def f8_scatter(path: Path, f8: dict, meta: dict) -> None:
    plt = _pyplot()
    skews = list(f8["table"])
    fig, axes = plt.subplots(1, len(skews), figsize=(5.2 * len(skews), 4.6), squeeze=False)
    for ax, skew in zip(axes[0], skews):
        rows = f8["table"][skew]
        for i, (name, r) in enumerate(rows.items()):
            ax.errorbar(r["mb"], 100 * r["mean"], yerr=100 * r["std"], marker="o", capsize=3, color=f"C{i}",
                        label=name)
        if c := f8.get("controls", {}).get(skew):
            ax.axhline(100 * c["mean"], color="grey", ls="--", lw=1, label="FedAvg + GN, same data IID")
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter, NullFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())          # overlapping 2×10¹-style minor labels otherwise
        ax.set_xlabel("communication, all partitions (MB, log scale)")
        ax.set_ylabel("test accuracy, mean over partitions (%)")
        ax.set_title(f"{skew} partitions" + (" (offline-world photos, 16 px)" if skew == "geographic" else ""),
                     fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"F8: the remedies, accuracy against bytes ({_subtitle(meta)})", fontsize=11)
    _save(fig, path)
