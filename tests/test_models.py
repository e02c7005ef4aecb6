"""The replica layout contract every model keeps, and a short training run of each tiny model.

Parametrized over ``list_models("test_*")`` (timm's pattern): a newly registered tiny variant is tested without
editing this file. A model built with ``replicas=K`` must behave as K separate ``replicas=1`` models whose
tensors sit in row k of ``.view(K, -1)`` (the trainer copies a replicas=1 model into each row that way).
"""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from training.config import parse_config
from training.data import load_data
from training.models import create_model, list_models
from training.trainer import Trainer

MODELS = list_models("test_*")
K, B, C, S, CLASSES = 3, 4, 3, 16, 5


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core machine OpenMP's spinning workers made
    these tests up to 100× slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(name: str, replicas: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return create_model(name, num_classes=CLASSES, in_chans=C, img_size=S, replicas=replicas)


def perturbed(m: nn.Module) -> nn.Module:
    """Every parameter and BN statistic made distinct: norm weights start at 1 (or 0: timm's zero_init_last) and
    running variances at 1 everywhere, which would hide a misplaced row or a zero gradient."""
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
        for n, b in m.named_buffers():
            if n.endswith("running_mean"):
                b.normal_()
            elif n.endswith("running_var"):
                b.uniform_(0.5, 1.5)
    return m


def distinct_single(name: str, seed: int) -> nn.Module:
    return perturbed(build(name, 1, seed))


def load_rows(model: nn.Module, singles: list[nn.Module]) -> None:
    """Replica k := singles[k], through the same ``.view(K, -1)`` rows the trainer writes."""
    states = [s.state_dict() for s in singles]
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if t.dim() > 0:
                t.view(K, -1).copy_(torch.stack([st[key].reshape(-1) for st in states]))


def set_mode(m: nn.Module, train: bool) -> nn.Module:
    m.train(train)
    for d in m.modules():      # dropout masks cannot match across separately built models
        if isinstance(d, nn.Dropout):
            d.eval()
    return m


@pytest.mark.parametrize("name", MODELS)
def test_output_shape(name):
    assert build(name, K, 0)(torch.randn(B, K * C, S, S)).shape == (B, K, CLASSES)


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", MODELS)
def test_replica_k_is_model_k(name, train):
    singles = [set_mode(distinct_single(name, seed), train) for seed in range(K)]
    model = build(name, K, 99)
    load_rows(model, singles)
    set_mode(model, train)
    x = torch.randn(B, K * C, S, S)
    with torch.no_grad():
        out = model(x)
        for k, s in enumerate(singles):
            torch.testing.assert_close(out[:, k], s(x[:, k * C:(k + 1) * C])[:, 0], atol=1e-5, rtol=1e-4)
    # in train mode BatchNorm has just updated running statistics from each replica's own minibatch
    states = [s.state_dict() for s in singles]
    for key, t in model.state_dict().items():
        if t.dim() > 0:
            for k, st in enumerate(states):
                torch.testing.assert_close(t.view(K, -1)[k], st[key].reshape(-1).to(t.dtype),
                                           msg=lambda m, key=key, k=k: f"{key}, replica {k}: {m}")


@pytest.mark.parametrize("name", MODELS)
def test_gradient_of_one_replica_stays_in_its_rows(name):
    model = perturbed(build(name, K, 0)).train()
    j = 1
    out = model(torch.randn(B, K * C, S, S))
    F.cross_entropy(out[:, j], torch.randint(0, CLASSES, (B,))).backward()
    touched = 0
    for n, p in model.named_parameters():
        g = p.grad.view(K, -1)
        assert torch.count_nonzero(torch.cat([g[:j], g[j + 1:]])) == 0, n
        touched += bool(torch.count_nonzero(g[j]))
    assert touched > len(list(model.parameters())) // 2       # the test can fail: replica j did get gradients


@pytest.mark.parametrize("name", MODELS)
def test_param_dims(name):
    single, model = build(name, 1, 0), build(name, K, 0)
    params = list(single.parameters())
    assert len(single.param_dims()) == len(params)
    assert single.param_dims() == model.param_dims()
    # replicas=1 tensors carry a leading 1 exactly where replicas are stacked along a new dim (per-replica rank - 1)
    assert single.param_dims() == [p.dim() - (p.dim() > 1 and p.shape[0] == 1) for p in params]
    assert any(d > 1 for d in single.param_dims())


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits", "test_fraction": 0.25}, 0)


@pytest.mark.parametrize("algorithm", [{"name": "bsp"}, {"name": "dgc", "sparsity": 0.9}], ids=["bsp", "dgc"])
@pytest.mark.parametrize("name", MODELS)
def test_trains_on_digits(name, algorithm, digits, tmp_path):
    config = {"partition": {"name": "label-exclusive", "num_partitions": 3}, "model": {"name": name},
              "algorithm": copy.deepcopy(algorithm), "run": {"seed": 0, "eval_every": 3},
              "solver": {"lr": 0.05, "batch_size": 8, "iterations": 3}}
    t = Trainer(parse_config(config), tmp_path, data=digits)
    rows = t.run(resume=False)
    assert rows and all(0 <= a <= 1 for a in rows[-1]["acc"]) and rows[-1]["bytes"] > 0
    assert t.replicas.compress == [d > 1 for d in t.replicas.model.param_dims()]
