"""A training's checkpoint: written atomically every ``checkpoint_every`` iterations, read on resume."""
from __future__ import annotations

import os
from pathlib import Path

import torch


def save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)      # a kill -9 mid-write leaves the previous checkpoint whole


def load(path: Path) -> dict | None:
    return torch.load(path, weights_only=False) if path.exists() else None
