"""The test split: grouped so that no owner and no near-duplicate group crosses train/test, seeded, and stratified
by class as closely as whole groups allow."""
from __future__ import annotations

import numpy as np

GROUPING = "owner+duplicate"


def group_ids(photo: np.ndarray, owner: np.ndarray, duplicate: np.ndarray) -> np.ndarray:
    """Per photo, its group: the connected component of "same owner" and "same duplicate group" (a re-upload by
    another owner joins both owners), named by the component's smallest photo id. Min-label propagation."""
    g = photo.astype(np.int64)
    keys = [np.unique(k, return_inverse=True)[1].ravel() for k in (owner, duplicate)]
    while True:
        new = g
        for inv in keys:
            m = np.full(inv.max() + 1 if len(inv) else 0, np.iinfo(np.int64).max)
            np.minimum.at(m, inv, new)
            new = m[inv]
        if np.array_equal(new, g):
            return g
        g = new


def _miss(taken: np.ndarray, target: np.ndarray) -> float:
    d = taken - target
    return float(np.where(d > 0, 2 * d, -d).sum())


def grouped_test_split(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """True for test photos, whole groups only. Groups are visited in a seeded order; a group joins the test split
    when that lowers the miss from the per-class targets round(fraction * n_c), an overshoot counting twice an
    undershoot (so one giant owner is not pushed into the test split to fill every class at once)."""
    classes, li = np.unique(labels, return_inverse=True)
    target = np.round(fraction * np.bincount(li, minlength=len(classes)))
    ug, gi = np.unique(groups, return_inverse=True)
    key, cnt = np.unique(gi.astype(np.int64) * len(classes) + li, return_counts=True)
    kg, kl = key // len(classes), key % len(classes)
    bounds = np.searchsorted(kg, np.arange(len(ug) + 1))
    taken = np.zeros(len(classes))
    chosen = np.zeros(len(ug), dtype=bool)
    for g in np.random.default_rng(seed).permutation(len(ug)):
        ls, cs = kl[bounds[g]:bounds[g + 1]], cnt[bounds[g]:bounds[g + 1]]
        if _miss(taken[ls] + cs, target[ls]) < _miss(taken[ls], target[ls]):
            chosen[g] = True
            taken[ls] += cs
    return chosen[gi]


def test_share_by_class(labels: np.ndarray, is_test: np.ndarray) -> dict[str, float]:
    """Achieved test share per class label (photos), for the manifest and the datasheet."""
    classes, li = np.unique(labels, return_inverse=True)
    share = np.bincount(li, weights=is_test) / np.bincount(li)
    return {str(int(c)): round(float(s), 4) for c, s in zip(classes, share)}
