"""The class x region heatmap, shared by the stats verb and the export's datasheet (stages meet in catalog/)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_heatmap(regions, labels, counts, path: str | Path, title: str, metadata: dict | None = None):
    """Share of each class's photos per region (columns sum to 1): where each animal is photographed. ``metadata``:
    PNG text chunks (``{"Software": None}`` leaves out the matplotlib version, for byte-identical reruns)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    share = counts / np.maximum(counts.sum(0, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(max(8, 0.32 * len(labels) + 3), max(3, 0.35 * len(regions) + 2)))
    im = ax.imshow(share, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=75, fontsize=8)
    ax.set_yticks(range(len(regions)), regions, fontsize=8)
    ax.set_xlabel("class")
    ax.set_ylabel("region")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="share of the class's photos")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=metadata)
    plt.close(fig)
    return Path(path)
