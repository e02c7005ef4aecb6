"""Label-skew metrics of a partitioning: how far each partition's label distribution is from the global one."""
from __future__ import annotations

import numpy as np


def label_skew_metrics(counts) -> dict[str, list[float]]:
    """Per partition: total-variation and Jensen-Shannon distance (base 2, in [0, 1]) of its label
    distribution to the global one, and the fraction of globally present classes it lacks.

    ``counts`` is a [partitions, classes] array of example counts.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValueError(f"counts must be a non-empty [partitions, classes] array, got shape {c.shape}")
    glob = c.sum(0)
    present = glob > 0
    g = glob / max(glob.sum(), 1.0)
    sizes = c.sum(1, keepdims=True)
    p = np.divide(c, sizes, out=np.zeros_like(c), where=sizes > 0)
    tv = 0.5 * np.abs(p - g).sum(1)
    m = 0.5 * (p + g)

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * np.log2(a / b), 0.0)
        return t.sum(1)

    js = np.sqrt(np.clip(0.5 * kl(p, m) + 0.5 * kl(np.broadcast_to(g, p.shape), m), 0.0, 1.0))
    missing = ((c == 0) & present).sum(1) / max(int(present.sum()), 1)
    return {"tv": tv.tolist(), "js": js.tolist(), "missing_frac": missing.tolist(),
            "size": c.sum(1).astype(int).tolist()}
