"""Near-duplicate groups from 64-bit hashes without comparing all pairs: multi-index hashing.

Split the 64 bits into ``threshold + 1`` bands. Two hashes within Hamming distance ``threshold`` differ in at most
``threshold`` bits, so by the pigeonhole principle at least one band is bit-for-bit equal: every such pair shares a
bucket in some band. Candidates are the pairs of each bucket; each is verified by its real distance, and the
verified pairs are closed transitively (connected components), so a burst whose first and last shots drifted
apart still forms one group. ``all_pairs`` is the exact O(n²) reference the banded search is checked against.

``burst_pairs`` adds what curators of photo collections (and camera-trap datasets, as "sequences") group by: shots
by one owner, seconds and metres apart, whose images are merely similar (a looser hash threshold), since a
reframed shot of a burst can move pHash's low frequencies past the threshold that keeps unrelated photos apart.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

BITS = 64


def bands(threshold: int) -> list[tuple[int, int]]:
    """``threshold + 1`` (shift, width) bit ranges covering 64 bits, widths differing by at most one."""
    k = threshold + 1
    if not 1 <= k <= BITS:
        raise ValueError(f"threshold {threshold}: use 0..{BITS - 1}")
    widths = [BITS // k + (i < BITS % k) for i in range(k)]
    shifts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    return [(int(s), int(wd)) for s, wd in zip(shifts, widths)]


def _bucket_pairs(keys: np.ndarray, max_bucket: int | None):
    """Yield index pairs (i, j) of equal ``keys``, one offset at a time: the pairs at offset 1, 2, … of the sorted
    keys, until an offset finds none (equal keys are contiguous once sorted). Memory stays O(n) per step."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    off = 1
    while off < len(k) and (max_bucket is None or off < max_bucket):
        same = np.flatnonzero(k[off:] == k[:-off])
        if not len(same):
            return
        yield order[same], order[same + off]
        off += 1


def candidate_pairs(hashes: np.ndarray, threshold: int, max_bucket: int | None = None):
    """Yield (i, j, distance) arrays of verified pairs (distance <= threshold), band by band, bucket offset by
    bucket offset. A pair equal in several bands is yielded once per band (harmless for grouping).

    ``max_bucket`` caps the offsets scanned in one bucket (None: exact); only a degenerate input (thousands of
    images sharing one band value, e.g. blank frames) needs it.
    """
    h = np.asarray(hashes, np.uint64)
    for shift, width in bands(threshold):
        keys = (h >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        for i, j in _bucket_pairs(keys, max_bucket):
            d = np.bitwise_count(h[i] ^ h[j])
            keep = d <= threshold
            if keep.any():
                yield i[keep], j[keep], d[keep]


def all_pairs(hashes: np.ndarray, threshold: int, chunk: int = 2048):
    """Yield (i, j, distance) of every pair within ``threshold`` by comparing all pairs (reference, small n)."""
    h = np.asarray(hashes, np.uint64)
    for a in range(0, len(h), chunk):
        d = np.bitwise_count(h[a:a + chunk, None] ^ h[None, :])
        i, j = np.nonzero(d <= threshold)
        i = i + a
        keep = i < j
        yield i[keep], j[keep], d[i[keep] - a, j[keep]]


def burst_pairs(owner, taken, latitude, longitude, hashes, seconds: float, metres: float, threshold: int):
    """Yield (i, j, distance) of photos by one owner taken at most ``seconds`` and ``metres`` apart whose pHashes
    differ in at most ``threshold`` bits. Photos without an owner, a time taken or coordinates take no part (NaN /
    None). Sorted by (owner, time taken), pairs at offset 1, 2, … until an offset finds none within ``seconds``."""
    owner = np.asarray(owner, dtype=object)
    taken, lat, lon = (np.asarray(x, np.float64) for x in (taken, latitude, longitude))
    h = np.asarray(hashes, np.uint64)
    ok = np.flatnonzero((owner != None) & np.isfinite(taken) & np.isfinite(lat) & np.isfinite(lon))  # noqa: E711
    if seconds <= 0 or len(ok) < 2:
        return
    code = np.unique(owner[ok].astype(str), return_inverse=True)[1].ravel()
    order = np.lexsort((taken[ok], code))
    idx, code, t = ok[order], code[order], taken[ok][order]
    for off in range(1, len(idx)):
        near = np.flatnonzero((code[off:] == code[:-off]) & (t[off:] - t[:-off] <= seconds))
        if not len(near):
            return
        i, j = idx[near], idx[near + off]
        dy = (lat[i] - lat[j]) * 111_320.0
        dx = ((lon[i] - lon[j] + 180.0) % 360.0 - 180.0) * 111_320.0 * np.cos(np.radians((lat[i] + lat[j]) / 2))
        d = np.bitwise_count(h[i] ^ h[j])
        keep = (np.hypot(dx, dy) <= metres) & (d <= threshold)
        if keep.any():
            yield i[keep], j[keep], d[keep]


def components(n: int, pairs) -> np.ndarray:
    """Component label per item from an iterable of (i, j, distance) arrays: transitive closure of the pairs."""
    parts = list(pairs)
    i = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    j = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def group(photo_ids: np.ndarray, hashes: np.ndarray, threshold: int, *, exact: bool = False,
          more_pairs=()) -> np.ndarray:
    """group_id per photo: the smallest photo id of its near-duplicate group (its own id when it has none);
    ``more_pairs`` (e.g. ``burst_pairs``) are joined too."""
    photo_ids = np.asarray(photo_ids, np.int64)
    find = all_pairs if exact else candidate_pairs
    comp = components(len(photo_ids), [*find(hashes, threshold), *more_pairs])
    smallest = np.full(comp.max() + 1 if len(comp) else 0, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(smallest, comp, photo_ids)
    return smallest[comp]
