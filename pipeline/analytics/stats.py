"""Label × region counts from the `dataset` view (ours) or the authors' labels, and how skewed they are."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from catalog.errors import UserError
from catalog.plots import plot_heatmap  # noqa: F401  (re-exported: the stats verb draws it)
from training.partitions.metrics import label_skew_metrics

LEVELS = ("continent", "subregion", "country")
SOURCES = {"ours": "dataset", "authors": "release_geography"}


def label_region_counts(con, level: str = "continent", source: str = "ours"):
    """(regions, labels, counts[R, L]) with regions and labels sorted; NULL geography is its own row."""
    if level not in LEVELS:
        raise UserError(f"unknown level {level!r}; levels are {', '.join(LEVELS)}")
    if source not in SOURCES:
        raise UserError(f"unknown source {source!r}; sources are {', '.join(SOURCES)}")
    if source == "ours" and not con.execute("SELECT count(*) FROM geocodes").fetchall()[0][0]:
        raise UserError("the catalog has no geocodes yet: run `flickr-mammal geocode` first")
    rows = con.execute(f"SELECT coalesce({level}, '(none)'), label, count(*) FROM {SOURCES[source]} "
                       f"GROUP BY ALL").fetchall()
    regions = sorted({r[0] for r in rows})
    labels = sorted({r[1] for r in rows})
    ri, li = {r: i for i, r in enumerate(regions)}, {lab: i for i, lab in enumerate(labels)}
    counts = np.zeros((len(regions), len(labels)), dtype=np.int64)
    for reg, lab, n in rows:
        counts[ri[reg], li[lab]] = n
    return regions, labels, counts


def stats(con, level: str = "continent", source: str = "ours", min_size: int = 0) -> dict:
    regions, labels, counts = label_region_counts(con, level, source)
    keep = [i for i, r in enumerate(regions) if r != "(none)" and counts[i].sum() >= min_size]
    m = label_skew_metrics(counts[keep]) if keep else {"tv": [], "js": [], "missing_frac": [], "size": []}
    parts = [{"region": regions[i], "photos": int(counts[i].sum()), "tv": round(m["tv"][k], 4),
              "js": round(m["js"][k], 4), "missing_classes": round(m["missing_frac"][k], 4)}
             for k, i in enumerate(keep)]
    totals = {regions[i]: int(counts[i].sum()) for i in range(len(regions))}
    return {"level": level, "source": source, "regions": regions, "labels": labels, "counts": counts.tolist(),
            "totals": totals, "partitions": parts}


def plot_partition_sizes(parts: list[dict], path: str | Path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(parts) + 2), 4))
    ax.bar([p["region"] for p in parts], [p["photos"] for p in parts], color="tab:blue")
    ax.set_ylabel("photos")
    ax.set_xlabel("partition (region)")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=60)
    for i, p in enumerate(parts):
        ax.annotate(f"TV {p['tv']:.2f}", (i, p["photos"]), ha="center", va="bottom", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
