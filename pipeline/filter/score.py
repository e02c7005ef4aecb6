"""Run the classifier once per downloaded photo and keep what any later rule needs (no decisions here)."""
from __future__ import annotations

import functools
import time

import numpy as np
import pyarrow as pa

from catalog.classes import load_classes
from catalog.db import write_arrow
from pipeline.filter.model import CATALOGUE, Classifier, load_classifier
from pipeline.filter.settings import FilterSettings
from pipeline.filter.synsets import catalogue_mammal_indices, class_indices

SCORE_SCHEMA = pa.schema([("photo_id", pa.int64()), ("label_id", pa.int32()), ("model", pa.string()),
                          ("weights_sha256", pa.string()), ("class_prob", pa.float64()), ("mammal_prob", pa.float64()),
                          ("top5_idx", pa.list_(pa.int32())), ("top5_prob", pa.list_(pa.float64())),
                          ("class_in_top5", pa.bool_())])


def pending(con, clf: Classifier) -> list[tuple[int, str, list[int]]]:
    """(photo id, image path, its label ids) for downloaded photos not yet scored by this model + weights."""
    return [(int(p), path, list(labels)) for p, path, labels in con.execute("""
        SELECT d.photo_id, d.path, list(pc.label_id ORDER BY pc.label_id)
        FROM downloads d JOIN photo_classes pc USING (photo_id)
        WHERE d.status = 'ok' AND NOT EXISTS (SELECT 1 FROM filter_scores s WHERE s.photo_id = d.photo_id
              AND s.label_id = pc.label_id AND s.model = ? AND s.weights_sha256 = ?)
        GROUP BY ALL ORDER BY d.photo_id""", [clf.name, clf.weights_sha256]).fetchall()]


def device_for(name: str | None = None):
    import torch

    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


def score_rows(clf: Classifier, classes, photos, probs: np.ndarray) -> pa.Table:
    """One row per (photo, class) from the photos' softmax outputs."""
    by_id = {c.label_id: c for c in classes}
    out = {f.name: [] for f in SCORE_SCHEMA}
    if clf.kind == CATALOGUE:
        col = {lid: i for i, lid in enumerate(clf.label_ids)}
        ids = np.array(clf.label_ids)
    else:
        mammal = catalogue_mammal_indices(classes)
    for (pid, _path, labels), p in zip(photos, probs):
        top = np.argsort(-p)[:5]
        for lid in labels:
            if clf.kind == CATALOGUE:
                idx = [col[lid]] if lid in col else []
                top_ids = ids[top].tolist()
                mammal_p = None
            else:
                idx = class_indices(by_id[lid].imagenet_synsets) if lid in by_id else []
                top_ids = top.tolist()
                mammal_p = float(p[mammal].sum())
            out["photo_id"].append(pid)
            out["label_id"].append(lid)
            out["model"].append(clf.name)
            out["weights_sha256"].append(clf.weights_sha256)
            out["class_prob"].append(float(p[idx].sum()) if idx else 0.0)
            out["mammal_prob"].append(mammal_p)
            out["top5_idx"].append([int(x) for x in top_ids])
            out["top5_prob"].append([float(x) for x in p[top]])
            out["class_in_top5"].append(bool(set(idx) & set(top.tolist())))
    return pa.table(out, schema=SCORE_SCHEMA)


def predict(clf: Classifier, photos, home, device, batch_size: int = 64, workers: int = 2) -> np.ndarray:
    import torch

    from pipeline.filter.dataset import loader

    model = clf.model.to(device)
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    out = []
    with torch.inference_mode():
        for _pids, x in loader([(p, path) for p, path, _ in photos], home, clf.data_config, batch_size, workers):
            x = x.to(device, non_blocking=True)
            if cuda:
                x = x.to(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                logits = model(x)
            out.append(logits.float().softmax(-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 1))


def write_scores(con, table: pa.Table) -> None:
    write_arrow(con, "INSERT OR REPLACE INTO filter_scores SELECT * FROM _batch", table)


def score_shard(home: str, settings: FilterSettings, photos: list, clf: Classifier | None = None) -> pa.Table:
    """Score rows of one shard of photos: the one shard function of the local run and the Prefect/Dask flow. A worker
    without ``clf`` loads it from the settings."""
    import multiprocessing

    clf = clf or load_classifier(settings.model, settings.weights)
    workers = 0 if multiprocessing.current_process().daemon else settings.workers     # daemons have no children
    probs = predict(clf, photos, home, device_for(settings.device), settings.batch_size, workers)
    return score_rows(clf, load_classes(settings.classes_file), photos, probs)


def score(con, home, settings: FilterSettings, *, clf: Classifier | None = None, map_shards=None,
          show_progress: bool = True) -> dict:
    """Score every downloaded photo not yet scored by this model and weights; one transaction per shard, so a rerun
    resumes. ``map_shards(fn, shards)`` yields each shard's rows (default: here, one after another, with the model
    already loaded; the Prefect flow passes one task per shard, each worker loading the model itself)."""
    from tqdm import tqdm

    clf = clf or load_classifier(settings.model, settings.weights)     # refuses random weights before any work
    photos = pending(con, clf)
    shards = [photos[i:i + settings.shard_size] for i in range(0, len(photos), settings.shard_size)]
    t0 = time.perf_counter()
    fn = functools.partial(score_shard, str(home), settings, clf=None if map_shards else clf)
    with tqdm(total=len(photos), unit="img", desc="filter", disable=not show_progress) as bar:
        for table in (map_shards or map)(fn, shards):
            write_scores(con, table)
            bar.update(len(set(table["photo_id"].to_pylist())))
    dt = time.perf_counter() - t0
    return {"model": clf.name, "weights_sha256": clf.weights_sha256, "scored": len(photos), "seconds": round(dt, 2),
            "img_per_s": round(len(photos) / dt, 1) if photos else 0, "device": str(device_for(settings.device))}
