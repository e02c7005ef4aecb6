"""Near-duplicate detection: quality on the offline world's bursts, and speed.

    .venv/bin/python benchmarks/dedup.py quality [--tune-seed 1 --eval-seed 2 --scale 0.002 --div 1]
    .venv/bin/python benchmarks/dedup.py speed [--n 100000 --n-exact 20000]

quality: renders every photo of two worlds as the server serves it (``z`` size, / --div), pHashes them, groups them
at thresholds 2..10 and prints pairwise precision / recall against the worlds' burst truth: the threshold is picked
on the tuning seed, the evaluation seed reports it. speed: hashes/s (decode + pHash) on rendered JPEGs, and grouping
time of synthetic hashes (random photos with near-copies), banded (multi-index) vs all-pairs, side by side.
"""
from __future__ import annotations

import argparse
import io
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from pipeline.dedup import DEFAULT_THRESHOLD, DedupSettings, all_pairs, candidate_pairs, group, hashing, pair_scores
from pipeline.dedup.grouping import burst_pairs, components

THRESHOLDS = (2, 4, 6, 8, 10)


def _render_pixels(args):
    from PIL import Image

    from pipeline.sim.images import render

    pid, label, size, burst_of = args
    return hashing.pixels(Image.open(io.BytesIO(render(pid, label, size, burst_of=burst_of))))


def world_scores(seed: int, scale: float, div: int, processes: int) -> dict:
    from pipeline.sim import World

    w = World(seed, scale)
    jobs = [(int(w.photo_id[r]), int(w.true_label[r]), tuple(x // div for x in w.dimensions(r, "z")),
             int(w.burst_of[r])) for r in range(w.num_photos)]
    with ProcessPoolExecutor(processes) as pool:
        px = np.stack(list(pool.map(_render_pixels, jobs, chunksize=64)))
    h = hashing.phash_pixels(px)
    truth = np.where(w.burst_of >= 0, w.burst_of, w.photo_id)
    out = {"photos": w.num_photos, "copies": int((w.burst_of >= 0).sum())}
    b = DedupSettings()
    for t in THRESHOLDS:
        out[t] = pair_scores(group(w.photo_id, h, t), truth)
        more = burst_pairs(w.owner, w.date_taken, w.latitude, w.longitude, h, b.burst_seconds, b.burst_metres,
                           b.burst_threshold)
        out["bursts", t] = pair_scores(group(w.photo_id, h, t, more_pairs=more), truth)   # the stage's grouping
    return out


def quality(a) -> None:
    res = {name: world_scores(seed, a.scale, a.div, a.processes)
           for name, seed in (("tuning", a.tune_seed), ("evaluation", a.eval_seed))}
    print(f"worlds at scale {a.scale}: tuning seed {a.tune_seed} ({res['tuning']['photos']} photos, "
          f"{res['tuning']['copies']} burst copies), evaluation seed {a.eval_seed} ({res['evaluation']['photos']} "
          f"photos, {res['evaluation']['copies']} copies); images {'z' if a.div == 1 else f'z/{a.div}'}")
    print(f"{'threshold':>9} | {'tuning P':>8} {'R':>6} | {'evaluation P':>12} {'R':>6} | pairs found/true (eval)")
    for rule in ("hash only", "bursts"):
        print(f"{rule}" + (f" (+ one owner's shots within {DedupSettings().burst_seconds} s and "
                           f"{DedupSettings().burst_metres} m, pHash within {DedupSettings().burst_threshold} bits)"
                           if rule == "bursts" else ""))
        for t in THRESHOLDS:
            key = t if rule == "hash only" else ("bursts", t)
            tu, ev = res["tuning"][key], res["evaluation"][key]
            mark = "  <- default" if t == DEFAULT_THRESHOLD else ""
            print(f"{t:>9} | {tu['precision']:>8.3f} {tu['recall']:>6.3f} | {ev['precision']:>12.3f} "
                  f"{ev['recall']:>6.3f} | {ev['pairs_found']}/{ev['pairs_true']}{mark}")


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    """n pHash-like hashes (32 of 64 bits set): 90% distinct photos, 10% copies of one of them with 1-3 bit pairs
    swapped (Hamming distance 2-6)."""
    rng = np.random.default_rng(seed)
    bits = np.zeros((n, 64), bool)
    bits[np.arange(n)[:, None], np.argsort(rng.random((n, 64)), 1)[:, :32]] = True
    n_copy = n // 10
    src = rng.integers(0, n - n_copy, n_copy)
    bits[n - n_copy:] = bits[src]
    for row in range(n - n_copy, n):
        on, off = np.flatnonzero(bits[row]), np.flatnonzero(~bits[row])
        m = rng.integers(1, 4)
        bits[row, rng.choice(on, m, replace=False)] = False
        bits[row, rng.choice(off, m, replace=False)] = True
    return np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def speed(a) -> None:
    from PIL import Image

    from pipeline.sim.images import render

    jpegs = [render(2_000_000_000 + 977 * i, i % 42, (640, 480)) for i in range(a.images)]
    _, t1 = _timed(lambda: hashing.phash(Image.open(io.BytesIO(b)) for b in jpegs))
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        _, tk = _timed(lambda: hashing.phash_pixels(np.stack(list(pool.map(
            lambda b: hashing.pixels(Image.open(io.BytesIO(b))), jpegs)))))
    print(f"hashing {a.images} 640x480 JPEGs (decode + pHash): {a.images / t1:,.0f} hashes/s on 1 thread, "
          f"{a.images / tk:,.0f} hashes/s on {os.cpu_count()} threads")
    t = a.threshold
    print(f"grouping at threshold {t} ({t + 1} bands): n | banded s | all-pairs s | same groups")
    for n in (a.n_exact, a.n):
        h = synthetic(n)
        cb, tb = _timed(lambda n, h: components(n, candidate_pairs(h, t)), n, h)
        if n <= a.n_exact:
            ce, te = _timed(lambda n, h: components(n, all_pairs(h, t)), n, h)
            same = bool(np.array_equal(_canon(cb), _canon(ce)))
            print(f"  {n:>9,} | {tb:8.3f} | {te:11.3f} | {same}")
        else:
            print(f"  {n:>9,} | {tb:8.3f} | {'(n²: ~' + format(te * (n / a.n_exact) ** 2, '.0f') + ' s)':>11} | -")


def _canon(labels: np.ndarray) -> np.ndarray:
    """Component labels renamed by first appearance, so two labelings of one partition compare equal."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inv]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--tune-seed", type=int, default=1)
    q.add_argument("--eval-seed", type=int, default=2)
    q.add_argument("--scale", type=float, default=0.002)
    q.add_argument("--div", type=int, default=1, help="render at the z size divided by this (faster)")
    q.add_argument("--processes", type=int, default=os.cpu_count())
    s = sub.add_parser("speed")
    s.add_argument("--n", type=int, default=100_000)
    s.add_argument("--n-exact", type=int, default=20_000)
    s.add_argument("--images", type=int, default=300)
    s.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    a = ap.parse_args()
    quality(a) if a.what == "quality" else speed(a)


if __name__ == "__main__":
    main()
