"""Train a small timm classifier on the catalogue's own classes from downloaded images and their (noisy)
query labels; save a checkpoint timm loads back, with a JSON sidecar saying how to feed it."""
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


def train_classifier(con, home: str | Path, out: str | Path, *, model: str = "mobilenetv3_small_050",
                     img_size: int = 64, epochs: int = 6, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                     holdout: float = 0.2, show_progress: bool = True) -> dict:
    """Trains on the photos of owners not held out (``holdout``: the share of owners set aside) and records the
    split in ``filter_training`` under the checkpoint's sha256."""
    import timm
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    if not 0.0 <= holdout < 1.0:
        raise UserError(f"--holdout {holdout} must be in [0, 1)")
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
    torch.manual_seed(seed)
    net = timm.create_model(model, num_classes=len(label_ids))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.05)
    steps = epochs * ((len(y) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(seed)
    net.train()
    with tqdm(total=steps, unit="step", desc="filter train", disable=not show_progress) as bar:
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
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.2f}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out)
    meta = {"model": model, "label_ids": label_ids, "trained_on": len(y), "epochs": epochs, "seed": seed,
            "data_config": {"input_size": [3, img_size, img_size], "mean": list(MEAN), "std": list(STD),
                            "interpolation": "bilinear", "crop_pct": 1.0, "crop_mode": "center"}}
    out.with_suffix(".json").write_text(json.dumps(meta | {"held_out": int(held.sum())}, indent=2))
    split = pa.table({"photo_id": pa.array([r[0] for r in every], pa.int64()),
                      "weights_sha256": pa.array([sha256_file(out)] * len(every), pa.string()),
                      "split": pa.array(["holdout" if h else "train" for h in held], pa.string())})
    write_arrow(con, "INSERT OR REPLACE INTO filter_training SELECT * FROM _batch", split)
    return {"checkpoint": str(out), "photos": len(y), "held_out": int(held.sum()), "classes": len(label_ids),
            "seconds": round(time.perf_counter() - t0, 1)}
