"""Classifier throughput: model-only forward vs end to end (decode, preprocess, forward, catalog write) on the
same device and model. On a GPU: --model pnasnet5large --device cuda (goal: end to end ≥ 85% of model-only).
Random weights are fine for throughput only (the product itself refuses them).

    .venv/bin/python benchmarks/filter.py [--model mobilenetv3_small_050] [--n 512] [--device cpu]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mobilenetv3_small_050")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    import timm
    from timm.data import resolve_model_data_config

    from catalog import connect, load_classes, sync_classes
    from pipeline.filter.model import IMAGENET, Classifier
    from pipeline.filter.score import score
    from pipeline.filter.settings import FilterSettings
    from pipeline.sim.images import render

    model = timm.create_model(a.model).eval()
    cfg = resolve_model_data_config(model)
    dev = torch.device(a.device)
    with tempfile.TemporaryDirectory() as d:
        home = Path(d)
        (home / "images").mkdir()
        for i in range(a.n):
            (home / "images" / f"{i}.jpg").write_bytes(render(i, i % 42, (640, 480)))
        con = connect(home / "c.duckdb")
        sync_classes(con, load_classes())
        con.executemany("INSERT INTO photos (photo_id, source) VALUES (?, 'crawl')", [[i] for i in range(a.n)])
        con.executemany("INSERT INTO photo_classes VALUES (?, ?)", [[i, i % 42] for i in range(a.n)])
        con.executemany("INSERT INTO downloads (photo_id, status, path) VALUES (?, 'ok', ?)",
                        [[i, f"images/{i}.jpg"] for i in range(a.n)])
        x = torch.randn(a.batch_size, *cfg["input_size"], device=dev)
        m = model.to(dev)
        if dev.type == "cuda":
            m, x = m.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            m(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            batches = max(1, a.n // a.batch_size)
            for _ in range(batches):
                m(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            model_only = batches * a.batch_size / (time.perf_counter() - t0)
        clf = Classifier(model, a.model, IMAGENET, "random-for-throughput", cfg, None)
        out = score(con, home, FilterSettings(device=a.device, batch_size=a.batch_size, workers=a.workers,
                                              shard_size=a.n), clf=clf, show_progress=False)
    e2e = out["img_per_s"]
    print(f"\n{a.model} on {dev} (input {cfg['input_size'][-1]} px, batch {a.batch_size}, {a.workers} decode workers), "
          f"{a.n} photo-like 640x480 JPEGs")
    print(f"{'model-only forward':<42}{model_only:>10.1f} img/s")
    print(f"{'end to end (decode, preprocess, forward, write)':<42}{e2e:>10.1f} img/s")
    print(f"{'end to end / model-only':<42}{e2e / model_only:>10.1%}   (goal on GPU with pnasnet5large: ≥ 85%)")


if __name__ == "__main__":
    main()
