"""Datasets as tensors, by name: ``@register_dataset(...)`` adds a loader with the facts that travel with it
(normalisation, input size, classes — timm's ``pretrained_cfg``); ``load_data`` builds one."""
from __future__ import annotations

import gzip
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from catalog.errors import UserError
from training.registry import Registry


@dataclass
class Data:
    x_train: torch.Tensor        # [N, C, H, W] float, normalised
    y_train: torch.Tensor        # [N] int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    partitions: list[np.ndarray] | None = None     # fixed partitions (manifests); else a partitioner decides
    partition_names: list[str] | None = None


@dataclass
class Split:
    """What a loader returns: images in [0, 1] and labels, and which rows train and which test."""
    x: np.ndarray                 # [N, C, H, W]
    y: np.ndarray                 # [N]
    train: np.ndarray             # row indices
    test: np.ndarray
    num_classes: int | None = None                  # None: the dataset entry's
    partitions: list[np.ndarray] | None = None      # fixed partitions of the training rows (manifests)
    partition_names: list[str] | None = None


@dataclass(frozen=True)
class DatasetEntry:
    """A registered dataset: its loader (``load(**options, seed=...) -> Split``) and the facts every run of it
    shares."""
    name: str
    load: Callable
    mean: float                             # normalisation: x ← (x − mean) / std, x in [0, 1]
    std: float
    num_classes: int | None = None          # None: the loader's data says (image folders, manifests)
    input_size: tuple | None = None         # (C, H, W); None: set by the loader's img_size

    def build(self, options: dict, seed: int) -> Data:
        s = self.load(**options, seed=seed)
        x = (torch.as_tensor(s.x, dtype=torch.float32) - self.mean) / self.std
        y = torch.as_tensor(s.y, dtype=torch.int64)
        return Data(x[s.train], y[s.train], x[s.test], y[s.test], s.num_classes or self.num_classes, s.partitions,
                    s.partition_names)


DATASETS = Registry("dataset")


def register_dataset(mean: float, std: float, num_classes: int | None = None, input_size: tuple | None = None):
    """Registers the decorated loader under its function name with these facts."""
    def wrap(fn: Callable) -> Callable:
        DATASETS.register(DatasetEntry(fn.__name__, fn, mean, std, num_classes, input_size))
        return fn
    return wrap


def list_datasets(pattern: str = "*") -> list[str]:
    return DATASETS.names(pattern)


def load_data(cfg, seed: int = 0) -> Data:
    """``cfg``: a ``DataConfig`` or the plain ``[data]`` table (``name`` plus the loader's keyword arguments)."""
    if isinstance(cfg, dict):
        cfg = dict(cfg)
        name, options = cfg.pop("name", None), cfg
    else:
        name, options = cfg.name, cfg.options
    if not name:
        raise UserError(f"[data] names no dataset; set [data] name = one of: {', '.join(list_datasets())}")
    try:
        entry = DATASETS.lookup(name)
    except ValueError as e:
        raise UserError(str(e)) from None
    return entry.build(options, seed)


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


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int, num_classes: int | None = None) -> Split:
    """A seeded random test split."""
    idx = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(float(test_fraction) * len(y)))
    return Split(x, y, idx[n_test:], idx[:n_test], num_classes)


@register_dataset(mean=0.1307, std=0.3081, num_classes=10, input_size=(1, 28, 28))
def mnist(path: str = "data/mnist", prefix: str = "t10k", test_fraction: float = 0.2, *, seed: int):
    """MNIST idx files; ``prefix`` "t10k" (the 10k test set doubles as a small dataset) or "train" for 60k."""
    root = Path(path)
    x = _idx(_find(root, f"{prefix}-images-idx3-ubyte"))[:, None].astype(np.float32) / 255.0
    y = _idx(_find(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return _split(x, y, test_fraction, seed)


@register_dataset(mean=0.3, std=0.4, num_classes=10, input_size=(1, 8, 8))
def digits(test_fraction: float = 0.2, *, seed: int):
    """scikit-learn's 8×8 digits: ships with scikit-learn, runs anywhere."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images[:, None].astype(np.float32) / 16.0
    return _split(x, d.target, test_fraction, seed)


@register_dataset(mean=0.47, std=0.25, num_classes=10, input_size=(3, 32, 32))
def cifar10(path: str = "data/cifar-10-batches-py", *, seed: int):
    """CIFAR-10's python batches: 50k training images, the 10k test batch as the test set."""
    root = Path(path)

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
    return Split(x, y, np.arange(n), np.arange(n, len(y)))


@register_dataset(mean=0.45, std=0.25)
def imagefolder(path: str, img_size: int = 64, test_fraction: float = 0.2, *, seed: int):
    """One folder per class."""
    root = Path(path)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir()) if f.is_file()]
    x = _images([f for f, _ in files], int(img_size))
    y = np.array([i for _, i in files])
    return _split(x, y, test_fraction, seed, len(classes))


@register_dataset(mean=0.45, std=0.25)
def manifest(path: str, img_size: int = 64, shuffle_partitions: bool = False, *, seed: int) -> Split:
    """The export's manifest: its partitions are kept as they are (geography decides, not a partitioner);
    ``shuffle_partitions`` keeps the data and partition sizes and spreads labels IID (the skew-free control)."""
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_dir():
        p = p / "manifest.parquet"
    if not p.is_file():
        raise UserError(f"manifest {p} not found: run `flickr-mammal export` first")
    meta = json.loads(p.with_suffix(".json").read_text())
    m = pq.read_table(p).to_pandas()
    m = m[m.image_path.notna()].drop_duplicates("photo_id")      # one label per photo for a softmax model
    if m.empty:
        raise UserError(f"manifest {p}: no image paths (a URL-and-attribution export); to train here, export with "
                        "--licenses open (images that may be shared) or --private")
    x = _images([p.parent / f for f in m.image_path], int(img_size))   # relative to the export folder (issue 21)
    y = m.label.to_numpy()
    train = (m.split == "train").to_numpy()
    part = m.partition.to_numpy()[train]
    partitions = [np.flatnonzero(part == k) for k in range(int(meta["num_partitions"]))]
    if shuffle_partitions:
        perm = np.random.default_rng(seed).permutation(np.concatenate(partitions))
        cuts = np.cumsum([len(q) for q in partitions])[:-1]
        partitions = [np.sort(q) for q in np.split(perm, cuts)]
    return Split(x, y, np.flatnonzero(train), np.flatnonzero(~train), int(meta["num_classes"]), partitions,
                 list(meta["partition_names"]))


def _images(paths, size: int) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(paths), 3, size, size), dtype=np.float32)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            im.draft("RGB", (size, size))
            rgb = im.convert("RGB").resize((size, size), Image.BILINEAR)
            out[i] = np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return out
