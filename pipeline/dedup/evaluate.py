"""Pairwise precision and recall of near-duplicate groups against a ground truth (the offline world's bursts)."""
from __future__ import annotations

import numpy as np


def _pairs(*keys: np.ndarray) -> int:
    """Number of unordered pairs of items that agree on every key."""
    _, counts = np.unique(np.stack(keys, 1), axis=0, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def pair_scores(group_id: np.ndarray, true_group: np.ndarray) -> dict:
    """Precision = share of the pairs put in one group that are true duplicates; recall = share of true duplicate
    pairs put in one group. Both arrays hold one entry per photo (any ids: only equality matters)."""
    group_id, true_group = np.asarray(group_id, np.int64), np.asarray(true_group, np.int64)
    if not len(group_id):
        return {"pairs_found": 0, "pairs_true": 0, "pairs_correct": 0, "precision": 1.0, "recall": 1.0}
    found, true, both = _pairs(group_id), _pairs(true_group), _pairs(group_id, true_group)
    return {"pairs_found": found, "pairs_true": true, "pairs_correct": both,
            "precision": round(both / found, 4) if found else 1.0, "recall": round(both / true, 4) if true else 1.0}


def burst_truth(photo_ids: np.ndarray, copy_ids: np.ndarray, burst_of: np.ndarray) -> np.ndarray:
    """True group per photo: the original's photo id for a burst copy, its own id otherwise."""
    photo_ids = np.asarray(photo_ids, np.int64)
    root = dict(zip(np.asarray(copy_ids, np.int64).tolist(), np.asarray(burst_of, np.int64).tolist()))
    return np.array([root.get(p, p) for p in photo_ids.tolist()], np.int64)
