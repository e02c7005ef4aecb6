"""Train a small timm classifier on the catalogue's own classes from downloaded images and their (noisy)
query labels; save a checkpoint timm loads back, with a JSON sidecar saying how to feed it.

About half of a crawl's query labels are wrong (another animal, or none), so training is confident learning
(Northcutt et al. 2021, the ``cleanlab`` library): out-of-sample class probabilities from K-fold
cross-validation, ``cleanlab.filter.find_label_issues`` on them, and the final model trained on the photos whose
labels it does not flag. ``folds=0`` trains on every label as it is (plain cross-entropy)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from catalog.db import write_arrow
from catalog.errors import UserError
from catalog.images import open_image
from pipeline.filter.model import sha256_file

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _load_images(home: Path, paths: list[str], size: int):
    import torch

    out = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(open_image(home, p)) as im:
            im.draft("RGB", (size * 2, size * 2))
            out[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR)).transpose(2, 0, 1)
    return torch.from_numpy(out)


def holdout_mask(owners: list[str], fraction: float, seed: int) -> np.ndarray:
    """Seeded, grouped by owner: each owner (sorted, then a seeded uniform draw) is held out with probability
    ``fraction``, with all their photos, so no owner's near-identical shots sit on both sides."""
    uniq, inv = np.unique(np.asarray(owners, dtype=object).astype(str), return_inverse=True)
    return np.random.default_rng(seed).random(len(uniq))[inv] < fraction


def _fit(x, y, num_classes: int, *, model: str, epochs: int, batch_size: int, lr: float, seed: int, bar=None):
    """One model trained with cross-entropy on (x uint8 [N,3,H,W], y); horizontal flips."""
    import timm
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    net = timm.create_model(model, num_classes=num_classes)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.05)
    steps = epochs * ((len(y) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch_size):
            b = perm[i:i + batch_size]
            xb = (x[b].float() / 255 - mean) / std
            flip = torch.rand(len(b), generator=g) < 0.5
            xb[flip] = xb[flip].flip(-1)
            loss = F.cross_entropy(net(xb), y[b], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.2f}")
    return net.eval()


def _predict(net, x, batch_size: int = 256) -> np.ndarray:
    import torch

    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    with torch.inference_mode():
        return np.concatenate([net((x[i:i + batch_size].float() / 255 - mean) / std).softmax(-1).numpy()
                               for i in range(0, len(x), batch_size)])


def label_issues(x, y, num_classes: int, folds: int, seed: int, **fit) -> np.ndarray:
    """Confident learning: a mask of the labels ``cleanlab`` judges wrong from K-fold out-of-sample probabilities."""
    from cleanlab.filter import find_label_issues

    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    probs = np.zeros((len(y), num_classes))
    for k in range(folds):
        net = _fit(x[fold != k], y[fold != k], num_classes, seed=seed + k, **fit)
        probs[fold == k] = _predict(net, x[fold == k])
    # n_jobs=1: no process pool (its forked workers inherit Prefect's SIGTERM handler and print tracebacks when the
    # pool ends them; the flagging is the same, it only runs per class in turn)
    return find_label_issues(y.numpy(), probs, n_jobs=1)


def train_classifier(con, home: str | Path, out: str | Path, *, model: str = "test_resnet",
                     img_size: int = 32, epochs: int = 20, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                     holdout: float = 0.2, folds: int = 2, show_progress: bool = True) -> dict:
    """Trains on the photos of owners not held out (``holdout``: the share of owners set aside), first dropping
    the labels confident learning flags (``folds`` >= 2), and records the split in ``filter_training`` under the
    checkpoint's sha256."""
    import torch
    from tqdm import tqdm

    if not 0.0 <= holdout < 1.0:
        raise UserError(f"--holdout {holdout} must be in [0, 1)")
    if folds == 1 or folds < 0:
        raise UserError(f"--folds {folds} must be 0 (train on every label) or at least 2 (confident learning)")
    every = con.execute("""SELECT d.photo_id, d.path, min(pc.label_id),
                                  coalesce(any_value(p.owner), d.photo_id::VARCHAR)
                           FROM downloads d JOIN photo_classes pc USING (photo_id) JOIN photos p USING (photo_id)
                           WHERE d.status = 'ok' GROUP BY d.photo_id, d.path ORDER BY d.photo_id""").fetchall()
    held = holdout_mask([r[3] for r in every], holdout, seed)
    rows = [r for r, h in zip(every, held) if not h]
    if len(rows) < 50:
        raise UserError(f"only {len(rows)} downloaded photos to train on ({int(held.sum())} held out): download "
                        f"more before `filter train`, or lower --holdout")
    label_ids = sorted({r[2] for r in rows})
    col = {lid: i for i, lid in enumerate(label_ids)}
    t0 = time.perf_counter()
    x = _load_images(Path(home), [r[1] for r in rows], img_size)
    y = torch.tensor([col[r[2]] for r in rows])
    fit = dict(model=model, epochs=epochs, batch_size=batch_size, lr=lr)
    per_epoch = (len(y) + batch_size - 1) // batch_size
    with tqdm(total=epochs * per_epoch * max(folds, 1), unit="step", desc="filter train",
              disable=not show_progress) as bar:
        issues = (label_issues(x, y, len(label_ids), folds, seed, bar=bar, **fit) if folds
                  else np.zeros(len(y), dtype=bool))
        clean = torch.from_numpy(~issues)
        net = _fit(x[clean], y[clean], len(label_ids), seed=seed, bar=bar, **fit)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out)
    meta = {"model": model, "label_ids": label_ids, "trained_on": int(clean.sum()), "label_issues": int(issues.sum()),
            "folds": folds, "epochs": epochs, "seed": seed,
            "data_config": {"input_size": [3, img_size, img_size], "mean": list(MEAN), "std": list(STD),
                            "interpolation": "bilinear", "crop_pct": 1.0, "crop_mode": "center"}}
    out.with_suffix(".json").write_text(json.dumps(meta | {"held_out": int(held.sum())}, indent=2))
    split = pa.table({"photo_id": pa.array([r[0] for r in every], pa.int64()),
                      "weights_sha256": pa.array([sha256_file(out)] * len(every), pa.string()),
                      "split": pa.array(["holdout" if h else "train" for h in held], pa.string())})
    write_arrow(con, "INSERT OR REPLACE INTO filter_training SELECT * FROM _batch", split)
    return {"checkpoint": str(out), "photos": len(y), "label_issues": int(issues.sum()), "held_out": int(held.sum()),
            "classes": len(label_ids), "seconds": round(time.perf_counter() - t0, 1)}
