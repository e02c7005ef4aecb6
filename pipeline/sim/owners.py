"""Owners as on Flickr (SPEC §5): a few photographers contribute hundreds of photos, most one or two, and each
shoots mostly around where they live.

Photos per owner follow a truncated discrete power law (Zipf), P(k) ∝ k^-ZIPF_EXPONENT for k = 1..MAX_PHOTOS:
70% of owners have one photo, 14% two, the mean is ~2.8 and the tail falls off as k^-1.3 (docs/offline-world.md
gives the source and the checks). Owners get photos that lie next to each other: the world's photos are ordered
along a Z-order (Morton) curve of their coordinates and cut into consecutive blocks, one per owner, so an owner's
photos cluster in one region (a big owner's block spans a country or two, as a safari photographer's does).
A share TRAVEL of photos is shuffled among owners first: photos taken far from home.
"""
from __future__ import annotations

import numpy as np

ZIPF_EXPONENT = 2.0        # P(k) ∝ k^-2: P(1) ≈ 0.61, P(2) ≈ 0.15; owners with at least k photos fall as 1/k
MAX_PHOTOS = 5_000         # YFCC100M: a few photographers contribute thousands
MAX_SHARE = 0.05           # and none more than 5% of a small world's photos (else the demo is one photographer)
TRAVEL = 0.15              # share of photos taken away from the owner's home region
NSID_RANGE = (10_000_000, 199_999_999)


def nsid(owner: int) -> str:
    """The owner's one Flickr id (``12345678@N05``), wherever the service shows it."""
    return f"{owner}@N0{owner % 8}"


def owner_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Photos per owner, drawn from the truncated Zipf law until they cover ``n`` photos (the last one trimmed)."""
    k = np.arange(1, max(20, min(MAX_PHOTOS, int(MAX_SHARE * n))) + 1)
    p = k ** -ZIPF_EXPONENT
    p /= p.sum()
    mean = float((k * p).sum())
    sizes = np.zeros(0, np.int64)
    while sizes.sum() < n:
        sizes = np.concatenate([sizes, rng.choice(k, size=int(n / mean * 1.2) + 16, p=p)])
    cut = int(np.searchsorted(np.cumsum(sizes), n))      # first owner whose block reaches n
    sizes = sizes[:cut + 1].copy()
    sizes[-1] -= sizes.sum() - n
    return sizes


def _morton(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Z-order key of each point on a 65,536² grid: points close on the curve are close on the map."""
    def spread(v):
        v = v.astype(np.uint64) & np.uint64(0xFFFF)
        for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    y = np.clip((np.asarray(lat) + 90.0) / 180.0 * 65535, 0, 65535)
    x = np.clip((np.asarray(lon) + 180.0) / 360.0 * 65535, 0, 65535)
    return spread(y) << np.uint64(1) | spread(x)


def assign_owners(lat: np.ndarray, lon: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An owner number per photo (unique per owner, used as the nsid's number): heavy-tailed owner sizes, each
    owner's photos nearby one another except the TRAVEL share."""
    n = len(lat)
    if not n:
        return np.zeros(0, np.int64)
    order = np.lexsort((rng.random(n), _morton(lat, lon)))     # along the curve, ties in a seeded order
    away = np.flatnonzero(rng.random(n) < TRAVEL)
    order[away] = order[rng.permutation(away)]                 # travel photos change places with one another
    sizes = owner_sizes(n, rng)
    numbers = _distinct(rng, len(sizes))
    owner = np.empty(n, np.int64)
    owner[order] = np.repeat(numbers, sizes)
    return owner


def _distinct(rng: np.random.Generator, m: int) -> np.ndarray:
    """``m`` distinct owner numbers in NSID_RANGE, in a seeded order."""
    out = np.zeros(0, np.int64)
    while len(out) < m:
        draw = np.concatenate([out, rng.integers(*NSID_RANGE, size=m - len(out) + 16)])
        _, first = np.unique(draw, return_index=True)
        out = draw[np.sort(first)]
    return out[:m]
