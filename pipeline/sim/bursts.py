"""Bursts: a photographer uploads several near-copies of one shot (same owner, same spot, seconds apart).

A fraction of each class query's photos become burst originals; 1-4 other photos of the same query become their
copies: they take the original's owner, true content, licence, geo accuracy and orientation, stand a few metres
away and were taken and uploaded seconds later. Their images are the original's with small changes
(``pipeline.sim.images.render(..., burst_of=...)``). Copies replace photos rather than add to them, so every
class's candidate count stays what the release implies. Ground truth: ``World.burst_of`` (the original's photo id,
-1 for photos that are no copy), ``World.bursts()`` and the ``sim_bursts`` table.
"""
from __future__ import annotations

import numpy as np

BURST_FRACTION = 0.05                          # share of each query's photos that are burst originals
BURST_COPIES = {1: 0.5, 2: 0.25, 3: 0.15, 4: 0.10}   # copies per original (mean 1.85: ~9% of photos are copies)
BURST_METRES = 3.0                             # s.d. of a copy's offset from the original's spot
BURST_SECONDS = (2, 40)                        # seconds between consecutive shots of a burst
_ROW_FIELDS = ("query_label", "true_label", "latitude", "longitude", "country", "date_upload", "date_taken",
               "license", "accuracy", "server", "farm", "secret", "owner", "has_z", "has_c", "landscape")
_COPIED = ("true_label", "country", "owner", "license", "accuracy", "has_z", "has_c", "landscape")


def apply_bursts(w, rng: np.random.Generator) -> np.ndarray:
    """Turn some of ``w``'s photos into near-copies of others, keep rows in upload order, and return ``burst_of``
    (per row: the original's photo id, or -1). Photo ids keep increasing with upload time."""
    n = len(w.query_label)
    orig_of = np.full(n, -1, np.int64)
    k_vals = np.array(list(BURST_COPIES))
    k_p = np.array(list(BURST_COPIES.values()))
    for label in np.unique(w.query_label):
        rows = rng.permutation(np.flatnonzero(w.query_label == label))
        m = rng.binomial(len(rows), BURST_FRACTION)
        ks = rng.choice(k_vals, size=m, p=k_p)
        while m and m + ks.sum() > len(rows):
            m, ks = m - 1, ks[:-1]
        if not m:
            continue
        copies = rows[m:m + ks.sum()]
        originals = np.repeat(rows[:m], ks)
        orig_of[copies] = originals
        # shot number within its burst (1..k) → seconds after the original
        step = np.concatenate([np.arange(1, k + 1) for k in ks])
        gap = np.concatenate([np.cumsum(rng.integers(*BURST_SECONDS, size=k)) for k in ks])
        for name in _COPIED:
            getattr(w, name)[copies] = getattr(w, name)[originals]
        w.date_taken[copies] = w.date_taken[originals] + gap
        w.date_upload[copies] = w.date_upload[originals] + gap + step
        metres = rng.normal(0, BURST_METRES, size=(len(copies), 2))
        lat0 = w.latitude[originals]
        w.latitude[copies] = np.clip(lat0 + metres[:, 0] / 111_320, -89.9, 89.9).round(6)
        lon = w.longitude[originals] + metres[:, 1] / (111_320 * np.cos(np.radians(lat0)))
        w.longitude[copies] = ((lon + 180) % 360 - 180).round(6)
    order = np.lexsort((np.arange(n), w.date_upload))      # stable: upload order, then old row order
    for name in _ROW_FIELDS:
        setattr(w, name, getattr(w, name)[order])
    new_row = np.empty(n, np.int64)
    new_row[order] = np.arange(n)
    orig_of = orig_of[order]
    is_copy = orig_of >= 0
    burst_of = np.full(n, -1, np.int64)
    burst_of[is_copy] = w.photo_id[new_row[orig_of[is_copy]]]   # photo ids stay sorted: row i keeps the i-th id
    return burst_of
