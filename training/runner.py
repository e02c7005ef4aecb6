"""The one training entry point: ``train(cfg, out_dir)`` runs a typed config on its backend, writes metrics,
checkpoints and the curves, and returns a ``TrainRecord``. `flickr-mammal train` and the Prefect train task both
call it with the same ``TrainConfig`` (``training.config.read_config``), so they resume the same way and return
the same record."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from training.config import TrainConfig, load_config, parse_config

__all__ = ["TrainRecord", "load_config", "plot_curves", "run_training", "train"]

CONFIG_JSON = "config.json"         # the config as given (plain dict), for people and the kill -9 test
CONFIG_PICKLE = "train_config.pkl"  # the parsed TrainConfig, for the torch.distributed ranks (parsed once)


@dataclass
class TrainRecord:
    """What a finished training returns, whoever called it: the final metrics row and where the run lies."""
    algorithm: str
    model: str
    accuracy: float                        # final test accuracy, mean over partitions
    per_partition: dict[str, float]        # final test accuracy by partition name
    bytes: float                           # communication of all partitions (algorithm + model travel)
    metrics: str                           # metrics.jsonl
    curves: str                            # curves.png
    final: dict                            # the last metrics row (iteration, acc, bytes_algorithm, bytes_travel, …)

    def as_dict(self) -> dict:
        """The final row's keys with the record's on top: what `flickr-mammal train --json` prints."""
        return self.final | {k: v for k, v in asdict(self).items() if k != "final"}

    def summary(self) -> dict:
        """The headline (the `build` summary's train entry)."""
        return {"algorithm": self.algorithm, "accuracy": self.accuracy, "per_partition": self.per_partition,
                "MB_sent": round(self.bytes / 1e6, 2), "curves": self.curves}


def train(cfg: TrainConfig, out_dir: str | Path, *, resume: bool = True, progress: bool = False,
          title: str | None = None) -> TrainRecord:
    """Train ``cfg`` in ``out_dir`` (resuming from its checkpoint unless ``resume=False``), write
    ``metrics.jsonl`` and ``curves.png`` there and return the record."""
    rows = _run(cfg, Path(out_dir), resume, progress)
    out = Path(out_dir)
    png = plot_curves(rows, out / "curves.png", title or f"{cfg.algorithm.name} · {cfg.model.name}")
    last = rows[-1]
    return TrainRecord(cfg.algorithm.name, cfg.model.name, last["acc_mean"],
                       dict(zip(partition_names(cfg, len(last["acc"])), last["acc"])), last["bytes"],
                       str(out / "metrics.jsonl"), str(png), last)


def run_training(config: dict, out_dir: str | Path, *, resume: bool = True, progress: bool = False) -> list[dict]:
    """A plain config dict (the study's, sweep's) checked into a ``TrainConfig`` and trained: the metrics rows
    (also in ``out_dir/metrics.jsonl``). No curves: a study trains hundreds of runs."""
    return _run(parse_config(config), Path(out_dir), resume, progress, raw=config)


def partition_names(cfg: TrainConfig, k: int) -> list[str]:
    """The partitions' names: an exported manifest's (``manifest.json`` beside it), else their indices."""
    path = cfg.data.options.get("path")
    if cfg.data.name == "manifest" and path:
        meta = Path(path).with_suffix(".json")
        if meta.is_file():
            names = json.loads(meta.read_text()).get("partition_names")
            if names and len(names) == k:
                return [str(n) for n in names]
    return [str(i) for i in range(k)]


def _run(cfg: TrainConfig, out: Path, resume: bool, progress: bool, raw: dict | None = None) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    given = json.dumps(raw if raw is not None else cfg.as_dict(), indent=2, sort_keys=True, default=str)
    if resume and foreign_run(out, given):
        print(f"{out}: holds a run of another config; starting afresh", file=sys.stderr)
        resume = False
    (out / CONFIG_JSON).write_text(given)
    if cfg.run.backend == "dist":
        return _run_distributed(cfg, out, resume)
    from training.trainer import Trainer

    return Trainer(cfg, out).run(resume=resume, progress=progress)


def foreign_run(out: Path, given: str) -> bool:
    """Whether ``out`` holds a run of another config (its config.json differs): a checkpoint left there by a killed
    run of an edited config must not be resumed as if it were this one's."""
    saved = out / CONFIG_JSON
    return saved.exists() and json.loads(saved.read_text()) != json.loads(given)


def _run_distributed(cfg: TrainConfig, out: Path, resume: bool) -> list[dict]:
    """One process per partition under torchrun (gloo on CPU, nccl on GPU); each rank unpickles the parsed
    config instead of parsing it again."""
    (out / CONFIG_PICKLE).write_bytes(pickle.dumps(cfg))
    k = cfg.partition.num_partitions
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={k}",
           "-m", "training.dist_main", str(out / CONFIG_PICKLE), str(out)] + ([] if resume else ["--no-resume"])
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-15:]
        raise RuntimeError("distributed training failed:\n" + "\n".join(tail))
    return [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]


def plot_curves(rows: list[dict], path: str | Path, title: str = "") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    it = [r["iteration"] for r in rows]
    acc = [100 * r["acc_mean"] for r in rows]
    mb = [r["bytes"] / 1e6 for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(it, acc, marker="o")
    a.set_xlabel("iteration")
    a.set_ylabel("test accuracy, mean over partitions (%)")
    b.plot(mb, acc, marker="o", color="tab:orange")
    b.set_xlabel("communication, all partitions (MB)")
    b.set_ylabel("test accuracy (%)")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
