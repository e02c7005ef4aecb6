"""Train a small timm classifier on the catalogue's own classes from downloaded images and their (noisy)
query labels; save a checkpoint timm loads back, with a JSON sidecar saying how to feed it."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from catalog.errors import UserError
from catalog.images import open_image

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _load_images(home: Path, paths: list[str], size: int):
    import torch

    out = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(open_image(home, p)) as im:
            im.draft("RGB", (size * 2, size * 2))
            out[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR)).transpose(2, 0, 1)
    return torch.from_numpy(out)


def train_classifier(con, home: str | Path, out: str | Path, *, model: str = "mobilenetv3_small_050",
                     img_size: int = 64, epochs: int = 6, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                     show_progress: bool = True) -> dict:
    import timm
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    rows = con.execute("""SELECT d.photo_id, d.path, min(pc.label_id) FROM downloads d JOIN photo_classes pc
                          USING (photo_id) WHERE d.status = 'ok' GROUP BY ALL ORDER BY d.photo_id""").fetchall()
    if len(rows) < 50:
        raise UserError(f"only {len(rows)} downloaded photos: download more before `filter train`")
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
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    return {"checkpoint": str(out), "photos": len(y), "classes": len(label_ids),
            "seconds": round(time.perf_counter() - t0, 1)}
