"""Datasets as tensors: MNIST (idx), scikit-learn digits, CIFAR-10 (python pickles), ImageFolder, export manifests."""
from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from catalog.errors import UserError

DATASETS = ("mnist", "digits", "cifar10", "imagefolder", "manifest")


@dataclass
class Data:
    x_train: torch.Tensor        # [N, C, H, W] float, normalised
    y_train: torch.Tensor        # [N] int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    partitions: list[np.ndarray] | None = None     # fixed partitions (manifests); else a partitioner decides
    partition_names: list[str] | None = None


def _idx(path: Path) -> np.ndarray:
    op = gzip.open if path.suffix == ".gz" else open
    with op(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find(root: Path, stem: str) -> Path:
    for cand in (root / stem, root / f"{stem}.gz"):
        if cand.exists():
            return cand
    raise UserError(f"{root}: no {stem}[.gz] — point data.path at a folder with MNIST idx files")


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    idx = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    return idx[n_test:], idx[:n_test]


def _tensors(x, y, tr, te, num_classes, mean, std) -> Data:
    x = (torch.as_tensor(x, dtype=torch.float32) - mean) / std
    y = torch.as_tensor(y, dtype=torch.int64)
    return Data(x[tr], y[tr], x[te], y[te], num_classes)


def load_data(cfg: dict, seed: int = 0) -> Data:
    name = cfg.get("name")
    test_fraction = float(cfg.get("test_fraction", 0.2))
    if name == "mnist":
        root = Path(cfg.get("path", "data/mnist"))
        prefix = cfg.get("prefix", "t10k")      # the 10k test set doubles as a small dataset; "train" for 60k
        x = _idx(_find(root, f"{prefix}-images-idx3-ubyte"))[:, None].astype(np.float32) / 255.0
        y = _idx(_find(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
        tr, te = _split(x, y, test_fraction, seed)
        return _tensors(x, y, tr, te, 10, 0.1307, 0.3081)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x = d.images[:, None].astype(np.float32) / 16.0
        tr, te = _split(x, d.target, test_fraction, seed)
        return _tensors(x, d.target, tr, te, 10, 0.3, 0.4)
    if name == "cifar10":
        root = Path(cfg.get("path", "data/cifar-10-batches-py"))
        def batch(f):
            with open(root / f, "rb") as fh:
                d = pickle.load(fh, encoding="bytes")
            return d[b"data"].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, np.array(d[b"labels"])
        if not (root / "data_batch_1").exists():
            raise UserError(f"{root}: no CIFAR-10 python batches (data_batch_1..5, test_batch)")
        parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
        xt, yt = batch("test_batch")
        x = np.concatenate([p[0] for p in parts] + [xt])
        y = np.concatenate([p[1] for p in parts] + [yt])
        n = len(y) - len(yt)
        return _tensors(x, y, np.arange(n), np.arange(n, len(y)), 10, 0.47, 0.25)
    if name == "imagefolder":
        root = Path(cfg["path"])
        classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir()) if f.is_file()]
        x = _images([f for f, _ in files], int(cfg.get("img_size", 64)))
        y = np.array([i for _, i in files])
        tr, te = _split(x, y, test_fraction, seed)
        return _tensors(x, y, tr, te, len(classes), 0.45, 0.25)
    if name == "manifest":
        return _manifest(Path(cfg["path"]), int(cfg.get("img_size", 64)), bool(cfg.get("shuffle_partitions")), seed)
    raise UserError(f"unknown dataset {name!r}; datasets are {', '.join(DATASETS)}")


def _images(paths, size: int) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(paths), 3, size, size), dtype=np.float32)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            im.draft("RGB", (size, size))
            out[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32).transpose(2, 0, 1) / 255.0
    return out


def _manifest(path: Path, size: int, shuffle: bool = False, seed: int = 0) -> Data:
    """The export's manifest: its partitions are kept as they are (geography decides, not a partitioner)."""
    import json

    import pyarrow.parquet as pq

    if path.is_dir():
        path = path / "manifest.parquet"
    if not path.is_file():
        raise UserError(f"manifest {path} not found: run `flickr-mammal export` first")
    meta = json.loads(path.with_suffix(".json").read_text())
    m = pq.read_table(path).to_pandas()
    m = m[m.image_path.notna()].drop_duplicates("photo_id")      # one label per photo for a softmax model
    x = _images(m.image_path.tolist(), size)
    y = m.label.to_numpy()
    train = (m.split == "train").to_numpy()
    d = _tensors(x, y, np.flatnonzero(train), np.flatnonzero(~train), int(meta["num_classes"]), 0.45, 0.25)
    part = m.partition.to_numpy()[train]
    d.partitions = [np.flatnonzero(part == k) for k in range(int(meta["num_partitions"]))]
    if shuffle:     # same data and partition sizes, labels spread IID: the skew-free control
        perm = np.random.default_rng(seed).permutation(np.concatenate(d.partitions))
        cuts = np.cumsum([len(p) for p in d.partitions])[:-1]
        d.partitions = [np.sort(p) for p in np.split(perm, cuts)]
    d.partition_names = list(meta["partition_names"])
    return d
