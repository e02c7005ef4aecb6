"""The train stage of `build`: a short decentralized run on the exported geographic partitions."""
from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.config import BuildConfig


@task(name="train", cache_policy=NO_CACHE)
def train_task(config_path: str, manifest: str, out: str, overrides: list[str]) -> dict:
    from training.runner import load_config, plot_curves, run_training

    cfg = load_config(config_path, overrides)
    cfg.setdefault("data", {})["path"] = manifest
    rows = run_training(cfg, out, resume=False)
    png = plot_curves(rows, Path(out) / "curves.png", "demo: continents of the offline world")
    last = rows[-1]
    return {"accuracy": last["acc_mean"], "per_partition": dict(zip(_names(manifest), last["acc"])),
            "MB_sent": round(last["bytes"] / 1e6, 2), "curves": str(png), "algorithm": cfg["algorithm"]["name"]}


def _names(manifest: str) -> list[str]:
    import json
    return json.loads(Path(manifest).with_suffix(".json").read_text())["partition_names"]


def train_stage(cfg: BuildConfig) -> dict:
    if not cfg.train_config:
        return {"skipped": "no train_config"}
    from flows.export import export_dir

    manifest = str(export_dir(cfg.home, cfg.export) / "manifest.parquet")
    return train_task(cfg.train_config, manifest, str(Path(cfg.home) / "runs" / "train"), cfg.train_overrides)
