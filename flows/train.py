"""The train stage of `build`: a short decentralized run on the exported partitions. The task calls the same
``training.runner.train`` with the same ``TrainConfig`` as `flickr-mammal train`, and returns the same record."""
from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.config import BuildConfig


@task(name="train", cache_policy=NO_CACHE)
def train_task(cfg, out: str, resume: bool = True, title: str | None = None):
    """``cfg``: a ``training.config.TrainConfig``; returns the ``training.runner.TrainRecord``."""
    from training.runner import train

    return train(cfg, out, resume=resume, title=title)


def stage_config(cfg: BuildConfig):
    """The build's training config: its TOML file and ``--set`` overrides, reading the manifest the export wrote."""
    from flows.export import export_dir
    from training.config import load_config, parse_config

    raw = load_config(cfg.train.config, cfg.train.overrides)
    raw.setdefault("data", {})["path"] = str(export_dir(cfg.home, cfg.export) / "manifest.parquet")
    return parse_config(raw)


def train_stage(cfg: BuildConfig, prefect: bool = True) -> dict:
    if not cfg.train.config:
        return {"skipped": "no train config (--set train.config=FILE.toml)"}
    # each build rewrites the export this run reads, so a checkpoint in runs/train may be of other data: start over
    record = (train_task if prefect else train_task.fn)(stage_config(cfg), str(Path(cfg.home) / "runs" / "train"),
                                                        resume=False, title="demo: continents of the offline world")
    return record.summary()
