"""Every registered entry runs (issue 20): each algorithm, partitioner, topology and model trains a few iterations
on tiny data; the names `flickr-mammal train --help` shows (training/registered.py, read without torch) are the
registries'; training/config.py loads without torch."""
from __future__ import annotations

import subprocess

import numpy as np
import pyarrow as pa
import pytest
import torch

from tests.conftest import PYTHON, REPO
from training import registered
from training.algorithms import ALGORITHMS
from training.config import parse_config
from training.data import Data, load_data
from training.models import create_model, list_models
from training.partitions import PARTITIONERS, create_partitioner
from training.topology import TOPOLOGIES
from training.trainer import Trainer

TINY = {"data": {"name": "digits", "test_fraction": 0.1},
        "partition": {"name": "label-exclusive", "num_partitions": 3},
        "model": {"name": "test_lenet_gn"},
        "solver": {"lr": 0.05, "batch_size": 4, "iterations": 3},
        "run": {"seed": 0, "eval_every": 3}}
CONTINENTS = ("Africa", "Asia", "Europe")
REQUIRED = {"alpha": 0.5, "skew": 0.5}       # partitioners' arguments without a default, at a value that works


@pytest.fixture(scope="module")
def digits() -> Data:
    return load_data(TINY["data"], 0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from intra-op threads on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train(data: Data, tmp_path, **sections) -> tuple[Trainer, list[dict]]:
    cfg = {k: {**TINY.get(k, {}), **sections.get(k, {})} for k in {*TINY, *sections}}
    t = Trainer(parse_config(cfg), tmp_path, data=data)
    return t, t.run(resume=False)


def test_config_loads_without_torch():
    r = subprocess.run([PYTHON, "-c", "import training.config, sys; assert 'torch' not in sys.modules"],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_train_help_names_every_registered_entry_without_torch():
    names = registered.live()
    assert registered.written() == names, "run `python -m training.registered` after registering"
    assert registered.docs_written() == registered.docs_block(names), "run `python -m training.registered`"
    r = subprocess.run([PYTHON, "-c", "import flows.commands.train as t, sys; print(t.DESCRIPTION); "
                        "assert 'torch' not in sys.modules"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for names in (ALGORITHMS.names(), PARTITIONERS.names(), TOPOLOGIES.names(), list_models()):
        missing = [n for n in names if n not in r.stdout]
        assert not missing, missing


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_every_algorithm_trains(name, digits, tmp_path):
    cls = ALGORITHMS[name]
    t, rows = train(digits, tmp_path, algorithm={"name": name})
    assert type(t.algo) is cls and rows[-1]["iteration"] == 3
    assert rows[-1]["bytes_algorithm"] > 0 and np.isfinite(rows[-1]["loss"])       # it sent something
    assert all(0.0 <= a <= 1.0 for a in rows[-1]["acc"]) and len(rows[-1]["acc"]) == 3
    if cls.knob:                 # what SkewScout's rule "drift" needs: a positive drift growing towards the loose end
        grid = sorted(cls.knob_grid, reverse=not cls.knob_tighter_is_lower)
        drifts = [cls.drift(v) for v in grid]
        assert all(d > 0 for d in drifts) and drifts == sorted(drifts), (name, drifts)


@pytest.mark.parametrize("name", PARTITIONERS.names())
def test_every_partitioner_partitions_and_trains(name, digits, tmp_path):
    """On digits' labels (and a made-up continent per row, for the geographic partitioner)."""
    n = len(digits.y_train)
    table = pa.table({"label": digits.y_train.numpy(), "continent": [CONTINENTS[i % 3] for i in range(n)]})
    import inspect

    required = [a for a, p in inspect.signature(PARTITIONERS[name].__init__).parameters.items()
                if p.default is p.empty and a not in ("self", "num_partitions") and p.kind is p.POSITIONAL_OR_KEYWORD]
    assert set(required) <= set(REQUIRED), f"add a value for {required} to REQUIRED"
    part = create_partitioner(name, num_partitions=3, seed=0, **{a: REQUIRED[a] for a in required})
    part.dataset = table
    parts = [part.load_partition(k) for k in range(part.num_partitions)]
    rows = np.concatenate(parts)
    assert len(parts) == 3 and len(np.unique(rows)) == len(rows) and rows.min() >= 0 and rows.max() < n
    fixed = Data(digits.x_train, digits.y_train, digits.x_test, digits.y_test, digits.num_classes, parts)
    _, trained = train(fixed, tmp_path, algorithm={"name": "fedavg", "iter_local": 2})
    assert trained[-1]["iteration"] == 3 and len(trained[-1]["acc"]) == 3


@pytest.mark.parametrize("name", TOPOLOGIES.names())
def test_every_topology_gossips_in_training(name, digits, tmp_path):
    k = 32 if name == "social" else 4
    t, rows = train(digits, tmp_path, algorithm={"name": "dsgd"}, topology={"name": name},
                    partition={"name": "iid", "num_partitions": k}, solver={"batch_size": 2, "iterations": 2},
                    run={"eval_every": 2})
    assert t.algo.W.shape == (k, k) and rows[-1]["bytes_algorithm"] > 0


@pytest.mark.parametrize("name", list_models())
def test_every_model_takes_a_training_step(name):
    """Two replicas, one SGD step at the size the family is built for (32 × 32 RGB; LeNet 28 × 28 grey)."""
    c, s = (1, 28) if "lenet" in name else (3, 32)
    torch.manual_seed(0)
    model = create_model(name, num_classes=4, in_chans=c, img_size=s, replicas=2)
    x, y = torch.randn(2, 2 * c, s, s), torch.tensor([[0, 1], [2, 3]])
    logits = model(x)
    assert logits.shape == (2, 2, 4)
    torch.nn.functional.cross_entropy(logits.permute(0, 2, 1), y).backward()
    before = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.sub_(0.1 * p.grad)
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
