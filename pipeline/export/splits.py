"""The test split: grouped so that no owner and no near-duplicate group crosses train/test, seeded, and stratified
by class as closely as whole groups allow; and the optional per-owner cap applied before it."""
from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

GROUPING = "owner+duplicate"


def group_ids(photo: np.ndarray, owner: np.ndarray, duplicate: np.ndarray) -> np.ndarray:
    """Per photo, its group: the connected component of "same owner" and "same duplicate group" (a re-upload by
    another owner joins both owners), transitively, named by the component's smallest photo id. Union-find as
    connected components of a graph that links every photo to the first photo of its owner and of its group."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    photo = np.asarray(photo, np.int64)
    n = len(photo)
    if not n:
        return photo.copy()
    links = []
    for key in (np.asarray(owner, dtype=object).astype(str), np.asarray(duplicate)):
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        links.append(first[inv.ravel()])
    i = np.concatenate([np.arange(n)] * len(links))
    graph = coo_matrix((np.ones(len(i), np.int8), (i, np.concatenate(links))), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]
    smallest = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, comp, photo)
    return smallest[comp]


def _seeded_rank(photo: np.ndarray, seed: int) -> np.ndarray:
    """A pseudo-random key per photo from (seed, photo id) alone: a photo keeps its key when the catalog grows."""
    return np.array([int.from_bytes(hashlib.blake2b(f"{seed}:{p}".encode(), digest_size=8).digest(), "big")
                     for p in photo.tolist()], np.uint64)


def owner_cap(photo: np.ndarray, owner: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """True for the photos kept under ``cap`` photos per owner: each owner's ``cap`` photos with the smallest seeded
    key (a seeded choice, spread over the owner's years and places, unlike the first uploads; stable as photos are
    added, since a photo's key depends on its id only). Photos with no owner are each their own owner."""
    photo = np.asarray(photo, np.int64)
    _, oi = np.unique(np.asarray(owner, dtype=object).astype(str), return_inverse=True)
    order = np.lexsort((photo, _seeded_rank(photo, seed), oi))
    first = np.r_[True, oi[order][1:] != oi[order][:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    keep = np.zeros(len(photo), bool)
    keep[order] = np.arange(len(order)) - start < cap
    return keep


def cap_per_owner(rows: pa.Table, cap: int | None, seed: int) -> pa.Table:
    """``rows`` (one per photo and class; columns photo_id and owner) without the photos over ``cap`` per owner
    (--max-per-owner; None: all). A photo's class rows stay or go together."""
    if cap is None or rows.num_rows == 0:
        return rows
    pid = rows["photo_id"].to_numpy()
    photo, first = np.unique(pid, return_index=True)
    owner = np.array([o if o is not None else f"photo:{p}" for o, p in
                      zip(rows["owner"].take(pa.array(first)).to_pylist(), photo.tolist())], object)
    kept = photo[owner_cap(photo, owner, cap, seed)]
    return rows.filter(pa.array(np.isin(pid, kept)))


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
