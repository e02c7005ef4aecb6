"""Run a training config: load TOML, apply overrides, pick the backend, write metrics and plots."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from catalog.errors import UserError
from training.config import TrainConfig, parse_config


def load_config(path: str | Path, overrides: list[str] | None = None) -> dict:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"config {p} not found; examples are in training/configs/")
    try:
        cfg = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"config {p}: {e}") from None
    for item in overrides or []:
        key, eq, raw = item.partition("=")
        if not eq or "." not in key:
            raise UserError(f"--set {item!r}: use section.key=value, e.g. algorithm.iter_local=50")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw                                 # a bare string
        section, _, name = key.partition(".")
        cfg.setdefault(section, {})[name] = value
    return cfg


def run_training(config: dict, out_dir: str | Path, *, resume: bool = True, progress: bool = False) -> list[dict]:
    """Train and return the metrics rows (also in ``out_dir/metrics.jsonl``). ``config`` is checked whole before
    anything runs (``training.config``: an unknown key is a one-line ``UserError``)."""
    typed = parse_config(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    if typed.run.backend == "dist":
        return _run_distributed(typed, out, resume)
    from training.trainer import Trainer

    return Trainer(typed, out).run(resume=resume, progress=progress)


def _run_distributed(config: TrainConfig, out: Path, resume: bool) -> list[dict]:
    """One process per partition under torchrun (gloo on CPU, nccl on GPU)."""
    k = config.partition.num_partitions
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={k}",
           "-m", "training.dist_main", str(out / "config.json"), str(out)] + ([] if resume else ["--no-resume"])
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
