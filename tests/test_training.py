"""The algorithms' semantics, byte accounting, BN per partition, backends and resume."""
from __future__ import annotations

import copy
import json
import signal
import subprocess
import time

import numpy as np
import pytest
import torch

from training.data import load_data
from training.runner import run_training
from training.trainer import Trainer
from tests.conftest import PYTHON, REPO

BASE = {
    "data": {"name": "digits", "test_fraction": 0.25},
    "partition": {"name": "label-exclusive", "num_partitions": 3},
    "model": {"name": "test_lenet_gn"},
    "algorithm": {"name": "bsp"},
    "solver": {"lr": 0.05, "batch_size": 8, "iterations": 12, "momentum": 0.9, "weight_decay": 5e-4},
    "run": {"seed": 0, "eval_every": 6},
}


@pytest.fixture(scope="module")
def digits():
    return load_data(BASE["data"], 0)


def cfg(**sections):
    c = copy.deepcopy(BASE)
    for k, v in sections.items():
        c[k] = {**c.get(k, {}), **v}
    return c


def final_params(config, tmp_path, data, name):
    t = Trainer(config, tmp_path / name, data=data)
    t.run(resume=False)
    return [p.detach().clone() for p in t.params], t


def assert_same(a, b, atol=1e-5):
    for x, y in zip(a, b):
        assert torch.allclose(x, y, atol=atol, rtol=1e-4), (x - y).abs().max()


def test_fedavg_one_local_step_plain_sgd_equals_bsp(tmp_path, digits):
    plain = {"momentum": 0.0}
    bsp, _ = final_params(cfg(solver=plain), tmp_path, digits, "bsp")
    fed, _ = final_params(cfg(solver=plain, algorithm={"name": "fedavg", "iter_local": 1}), tmp_path, digits, "fed")
    assert_same(bsp, fed)
    other, _ = final_params(cfg(solver=plain, algorithm={"name": "fedavg", "iter_local": 4}), tmp_path, digits, "fed4")
    assert max((a - b).abs().max() for a, b in zip(bsp, other)) > 1e-4      # the test can fail


def test_gaia_threshold_zero_equals_bsp(tmp_path, digits):
    bsp, _ = final_params(cfg(), tmp_path, digits, "bsp")
    gaia, _ = final_params(cfg(algorithm={"name": "gaia", "threshold": 0.0}), tmp_path, digits, "gaia")
    assert_same(bsp, gaia)


def test_dgc_sparsity_zero_equals_momentum_sgd(tmp_path, digits):
    bsp, _ = final_params(cfg(), tmp_path, digits, "bsp")
    dgc, _ = final_params(cfg(algorithm={"name": "dgc", "sparsity": 0.0}), tmp_path, digits, "dgc")
    assert_same(bsp, dgc)
    sparse, _ = final_params(cfg(algorithm={"name": "dgc", "sparsity": 0.9}), tmp_path, digits, "dgc9")
    assert max((a - b).abs().max() for a, b in zip(bsp, sparse)) > 1e-4


def test_byte_counts_for_a_hand_computed_case():
    from training.algorithms import DGC, FedAvg, Gaia
    from training.comm import LocalComm

    comm = LocalComm(2)
    w = torch.tensor([[1.0, 2.0, 0.0, 4.0], [1.0, 2.0, 0.0, 4.0]])
    g = torch.tensor([[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    # Gaia, T = 0.1, lr = 1, no momentum/decay: replica 0's update u = lr/K * g = 0.25 on entry 0:
    # |0.25 / 0.75| > 0.1 → sent; entry 2 has weight 0 → sent; replica 1 sends only entry 2 (w == 0)
    gaia = Gaia([w.clone()], comm, threshold=0.1, momentum=0.0, weight_decay=0.0, lr0=1.0)
    sent = gaia.step([g], lr=1.0, iteration=0)
    assert sent.tolist() == [2 * 8 * 1, 1 * 8 * 1]               # (index, value) pairs to the K-1 = 1 other
    assert torch.allclose(gaia.params[0][1], torch.tensor([0.75, 2.0, 0.0, 4.0]))   # got replica 0's update
    fed = FedAvg([w.clone()], comm, iter_local=2, momentum=0.0, weight_decay=0.0)
    assert fed.step([g], 1.0, 0).tolist() == [0.0, 0.0] and fed.step([g], 1.0, 1).tolist() == [16.0, 16.0]
    dgc = DGC([w.clone()], comm, sparsity=0.75, momentum=0.0, weight_decay=0.0)   # top-1 of 4 entries
    # replica 0: one (index, value) pair = 8 B; replica 1: all-zero velocity ties at the threshold, so all 4
    # entries qualify and dense (4 x 4 B = 16) is cheaper than sparse (4 x 8 B)
    assert dgc.step([g], 1.0, 0).tolist() == [8.0, 16.0]


def test_bn_statistics_differ_per_partition_under_label_skew(tmp_path, digits):
    c = cfg(model={"name": "test_lenet_bn", "bn_stats": "local"}, algorithm={"name": "bsp"})
    t = Trainer(c, tmp_path / "bn", data=digits)
    t.run(resume=False)
    bn = t.buffers[0].view(t.L, -1)                          # running means, one row per partition
    spread = (bn - bn.mean(0)).abs().max()
    assert spread > 1e-3
    c["model"]["bn_stats"] = "shared"
    t2 = Trainer(c, tmp_path / "bn2", data=digits)
    t2.run(resume=False)
    bn2 = t2.buffers[0].view(t2.L, -1)
    assert (bn2 - bn2[0]).abs().max() < 1e-6                # shared like weights: averaged at every sync


def test_vectorized_simulator_equals_a_plain_loop_over_models(tmp_path, digits):
    """K replicas in grouped convolutions == K separate single models fed the same batches."""
    c = cfg(algorithm={"name": "fedavg", "iter_local": 1000, "average_at_end": False})   # no sync: replicas train independently
    sim, t = final_params(c, tmp_path, digits, "sim")
    for k in range(t.K):
        single = cfg(algorithm={"name": "fedavg", "iter_local": 1000, "average_at_end": False})
        one = Trainer(single, tmp_path / f"one{k}", data=digits)
        # a one-replica trainer on partition k with replica k's sampler seed
        from training.trainer import Sampler
        one.parts, one.K, one.L = [t.parts[k]], 1, 1
        from training.comm import LocalComm
        one.comm = LocalComm(1)
        one._build_model(single["model"])
        one._build_algorithm(single["algorithm"], single["solver"])
        one.samplers = [Sampler(t.parts[k], 0, k)]
        one.bytes = torch.zeros(1, dtype=torch.float64)
        one.bytes_travel = torch.zeros(1, dtype=torch.float64)
        one.run(resume=False)
        for ps, p1 in zip(sim, one.params):
            assert torch.allclose(ps.view(t.K, -1)[k], p1.view(1, -1)[0], atol=1e-5)


def test_in_process_and_torch_distributed_give_the_same_result(tmp_path, digits):
    c = cfg(algorithm={"name": "gaia", "threshold": 0.05}, solver={"iterations": 10})
    sim = run_training(c, tmp_path / "sim", resume=False)
    c["run"]["backend"] = "dist"
    dist = run_training(c, tmp_path / "dist", resume=False)
    assert len(sim) == len(dist)
    for a, b in zip(sim, dist):
        assert np.allclose(a["acc"], b["acc"], atol=0.02)
        assert abs(a["bytes"] - b["bytes"]) <= 0.01 * max(a["bytes"], 1)


def test_resume_after_kill_9_gives_the_same_final_result(tmp_path):
    import tomllib

    c = cfg(solver={"iterations": 1500}, run={"seed": 0, "eval_every": 250, "checkpoint_every": 20})
    toml = tmp_path / "c.toml"
    toml.write_text(_to_toml(c))
    ref = subprocess.run([PYTHON, "-m", "flows.cli", "train", str(toml), "--out", str(tmp_path / "ref"), "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr
    cmd = [PYTHON, "-m", "flows.cli", "train", str(toml), "--out", str(tmp_path / "k"), "--json"]
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (tmp_path / "k" / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    assert p.wait() == -signal.SIGKILL                       # it was killed mid-run, not finished
    assert json.loads((tmp_path / "k" / "config.json").read_text())["solver"]["iterations"] == 1500
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    a = json.loads(ref.stdout)
    b = json.loads(again.stdout)
    assert a["acc"] == b["acc"] and a["bytes"] == b["bytes"] and a["loss"] == b["loss"]


def _to_toml(c: dict) -> str:
    lines = []
    for sec, kv in c.items():
        lines.append(f"[{sec}]")
        for k, v in kv.items():
            lines.append(f"{k} = {json.dumps(v)}")
    return "\n".join(lines) + "\n"


def test_identical_replicas_are_scored_once_with_the_same_result(tmp_path, digits):
    """After a FedAvg round every replica is the same model; the shortcut must give what scoring each gives."""
    t = Trainer(cfg(algorithm={"name": "fedavg", "iter_local": 4}, solver={"iterations": 8},
                    model={"name": "test_lenet_bn"}), tmp_path / "r", data=digits)
    t.run(resume=False)
    assert t._replicas_identical()
    x, y = digits.x_test, digits.y_test
    fast = t.evaluate_local(x, y)
    slow = t.evaluate_local(x, y, model=t.model)
    assert torch.equal(fast, slow) and fast.shape == (t.K,)
    t.params[0].data.view(t.K, -1)[1] += 0.5                 # replicas differ: no shortcut
    assert not t._replicas_identical()


def test_fedavg_ends_with_an_averaging_even_off_the_round_boundary(tmp_path, digits):
    """FedAvg's product is the average: a run whose length is not a multiple of Iter_local still ends on one
    (counted in the bytes), unless average_at_end = false."""
    ends = Trainer(cfg(algorithm={"name": "fedavg", "iter_local": 7}, solver={"iterations": 10}),
                   tmp_path / "a", data=digits)
    rows = ends.run(resume=False)
    assert ends._replicas_identical()
    model = sum(p.shape[1] for p in ends.algo.params) * 4
    assert rows[-1]["bytes_algorithm"] == 2 * ends.K * model            # the round at 7 and the one at the end
    open_end = Trainer(cfg(algorithm={"name": "fedavg", "iter_local": 7, "average_at_end": False},
                           solver={"iterations": 10}), tmp_path / "b", data=digits)
    rows = open_end.run(resume=False)
    assert not open_end._replicas_identical() and rows[-1]["bytes_algorithm"] == open_end.K * model
