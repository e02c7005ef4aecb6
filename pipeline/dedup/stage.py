"""The dedup stage: hash every downloaded image not hashed yet (one INSERT per batch), then rebuild the
near-duplicate groups of all hashed images (one transaction) and, on the offline world, score them."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from catalog.db import arrow_transaction, write_arrow
from catalog.images import open_image
from pipeline.dedup.evaluate import burst_truth, pair_scores
from pipeline.dedup.grouping import burst_pairs, candidate_pairs, components
from pipeline.dedup.hashing import METHOD, phash_pixels, pixels
from pipeline.dedup.settings import DedupSettings


def _pixels_or_none(home, path):
    try:
        return pixels(open_image(home, path))
    except (OSError, ValueError, SyntaxError):    # unreadable or vanished image: left unhashed, counted
        return None


def hash_images(con, home, settings: DedupSettings, show_progress: bool = True) -> dict:
    """pHash of every downloaded image without one (of this method), in batches; returns counts and speed."""
    from tqdm import tqdm

    where = "" if settings.rehash else \
        "AND d.photo_id NOT IN (SELECT photo_id FROM image_hashes WHERE method = $method)"
    todo = con.execute(f"SELECT d.photo_id, d.path FROM downloads d WHERE d.status = 'ok' {where} "
                       "ORDER BY d.photo_id", {"method": METHOD} if where else {}).fetchall()
    t0 = time.perf_counter()
    hashed = unreadable = 0
    with ThreadPoolExecutor(settings.local_threads()) as pool, \
            tqdm(total=len(todo), unit="img", desc="dedup: hash", disable=not show_progress) as bar:
        for a in range(0, len(todo), settings.batch_size):
            batch = todo[a:a + settings.batch_size]
            px = list(pool.map(lambda row: _pixels_or_none(home, row[1]), batch))
            ok = [i for i, p in enumerate(px) if p is not None]
            unreadable += len(batch) - len(ok)
            if ok:
                h = phash_pixels(np.stack([px[i] for i in ok]))
                rows = pa.table({"photo_id": pa.array([batch[i][0] for i in ok], pa.int64()),
                                 "phash": pa.array(h, pa.uint64()),
                                 "method": pa.array([METHOD] * len(ok), pa.string())})
                write_arrow(con, "INSERT OR REPLACE INTO image_hashes (photo_id, phash, method) "
                                 "SELECT photo_id, phash, method FROM _batch", rows)
                hashed += len(ok)
            bar.update(len(batch))
    dt = time.perf_counter() - t0
    return {"hashed": hashed, "unreadable": unreadable, "hash_seconds": round(dt, 2),
            "hashes_per_s": round(hashed / dt, 1) if hashed and dt > 0 else 0.0}


def group_hashes(photo_ids: np.ndarray, hashes: np.ndarray, threshold: int, more_pairs=()) -> pa.Table:
    """The ``duplicate_groups`` rows (groups of two or more) of these hashes (and of ``more_pairs``: bursts)."""
    photo_ids, hashes = np.asarray(photo_ids, np.int64), np.asarray(hashes, np.uint64)
    comp = components(len(photo_ids), [*candidate_pairs(hashes, threshold), *more_pairs])
    sizes = np.bincount(comp) if len(comp) else np.zeros(0, np.int64)
    member = np.flatnonzero(sizes[comp] >= 2) if len(comp) else np.zeros(0, np.int64)
    c = comp[member]
    rep = np.full(len(sizes), -1, np.int64)       # index of the smallest photo id of each component
    o = member[np.lexsort((photo_ids[member], c))]
    first_comp, first = np.unique(comp[o], return_index=True)
    rep[first_comp] = o[first]
    r = rep[c]
    return pa.table({
        "photo_id": pa.array(photo_ids[member], pa.int64()),
        "group_id": pa.array(photo_ids[r], pa.int64()),
        "is_representative": pa.array(member == r),
        "group_size": pa.array(sizes[c].astype(np.int32)),
        "distance": pa.array(np.bitwise_count(hashes[member] ^ hashes[r]).astype(np.int16)),
    })


def dedup_catalog(con, home, settings: DedupSettings | None = None, show_progress: bool = True) -> dict:
    """The dedup stage, with or without Prefect. Rerunning hashes only new images and regroups everything."""
    settings = settings or DedupSettings()
    out = hash_images(con, home, settings, show_progress)
    t0 = time.perf_counter()
    got = con.execute("SELECT h.photo_id, h.phash, p.owner, epoch(p.date_taken) AS taken, p.latitude, p.longitude "
                      "FROM image_hashes h LEFT JOIN photos p USING (photo_id) WHERE h.method = ? ORDER BY photo_id",
                      [METHOD]).fetch_df()
    ids, hs = got["photo_id"].to_numpy(np.int64), got["phash"].to_numpy(np.uint64)
    meta = [got[c].to_numpy(np.float64, na_value=np.nan) for c in ("taken", "latitude", "longitude")]
    bursts = burst_pairs(got["owner"].to_numpy(object), *meta, hs, settings.burst_seconds, settings.burst_metres,
                         settings.burst_threshold)
    groups = group_hashes(ids, hs, settings.threshold, bursts)
    with arrow_transaction(con, groups, "_groups"):
        con.execute("DELETE FROM duplicate_groups")
        con.execute("INSERT INTO duplicate_groups (photo_id, group_id, is_representative, group_size, distance, "
                    "threshold, method) SELECT photo_id, group_id, is_representative, group_size, distance, ?, ? "
                    "FROM _groups", [settings.threshold, METHOD])
    n_groups = int(np.sum(groups["is_representative"].to_numpy(zero_copy_only=False)))
    out |= {"images": len(ids), "threshold": settings.threshold, "groups": n_groups,
            "photos_in_groups": groups.num_rows, "duplicates_dropped": groups.num_rows - n_groups,
            "group_seconds": round(time.perf_counter() - t0, 3)}
    truth = con.execute("SELECT photo_id, burst_of FROM sim_bursts").fetchnumpy()
    if len(truth["photo_id"]):
        group_of = dict(zip(groups["photo_id"].to_pylist(), groups["group_id"].to_pylist()))
        predicted = np.array([group_of.get(p, p) for p in ids.tolist()], np.int64)
        out["vs_sim_bursts"] = pair_scores(predicted, burst_truth(ids, truth["photo_id"], truth["burst_of"]))
    return out
