"""The algorithms' semantics, byte accounting, BN per partition, backends (and their gossip mix), the config's
checks and resume."""
from __future__ import annotations

import copy
import json
import signal
import subprocess
import time

import numpy as np
import pytest
import torch

from catalog.errors import UserError
from tests.conftest import PYTHON, REPO
from training.config import parse_config
from training.data import Data, load_data
from training.evaluation import replica_accuracy
from training.runner import run_training
from training.sampler import Sampler
from training.trainer import Trainer

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


def trainer(config: dict, out, **kw) -> Trainer:
    """A Trainer over a config written as a plain dict (it takes the parsed ``TrainConfig``)."""
    return Trainer(parse_config(config), out, **kw)


def final_params(config, tmp_path, data, name):
    t = trainer(config, tmp_path / name, data=data)
    t.run(resume=False)
    return [p.detach().clone() for p in t.replicas.params], t


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
    t = trainer(c, tmp_path / "bn", data=digits)
    t.run(resume=False)
    bn = t.replicas.buffers[0].view(t.replicas.count, -1)        # running means, one row per partition
    spread = (bn - bn.mean(0)).abs().max()
    assert spread > 1e-3
    c["model"]["bn_stats"] = "shared"
    t2 = trainer(c, tmp_path / "bn2", data=digits)
    t2.run(resume=False)
    bn2 = t2.replicas.buffers[0].view(t2.replicas.count, -1)
    assert (bn2 - bn2[0]).abs().max() < 1e-6                # shared like weights: averaged at every sync


def test_vectorized_simulator_equals_a_plain_loop_over_models(tmp_path, digits):
    """K replicas in grouped convolutions == K separate single models fed the same batches."""
    # no sync: replicas train independently
    c = cfg(algorithm={"name": "fedavg", "iter_local": 1000, "average_at_end": False})
    sim, t = final_params(c, tmp_path, digits, "sim")
    for k in range(t.comm.world):
        # a one-replica trainer on partition k with replica k's sampler seed
        alone = Data(digits.x_train, digits.y_train, digits.x_test, digits.y_test, digits.num_classes, [t.parts[k]])
        one = trainer(c, tmp_path / f"one{k}", data=alone)
        one.samplers = [Sampler(t.parts[k], 0, k)]
        one.run(resume=False)
        for ps, p1 in zip(sim, one.replicas.params):
            assert torch.allclose(ps.view(t.comm.world, -1)[k], p1.view(1, -1)[0], atol=1e-5)


@pytest.mark.slow
def test_in_process_and_torch_distributed_give_the_same_result(tmp_path, digits):
    c = cfg(algorithm={"name": "gaia", "threshold": 0.05}, solver={"iterations": 10})
    sim = run_training(c, tmp_path / "sim", resume=False)
    c["run"]["backend"] = "dist"
    dist = run_training(c, tmp_path / "dist", resume=False)
    assert len(sim) == len(dist)
    for a, b in zip(sim, dist):
        assert np.allclose(a["acc"], b["acc"], atol=0.02)
        assert abs(a["bytes"] - b["bytes"]) <= 0.01 * max(a["bytes"], 1)


@pytest.mark.slow
def test_resume_after_kill_9_gives_the_same_final_result(tmp_path):

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
    t = trainer(cfg(algorithm={"name": "fedavg", "iter_local": 4}, solver={"iterations": 8},
                    model={"name": "test_lenet_bn"}), tmp_path / "r", data=digits)
    t.run(resume=False)
    assert t.replicas.identical()
    x, y = digits.x_test, digits.y_test
    fast = replica_accuracy(t.replicas, x, y, t.device)
    slow = replica_accuracy(t.replicas, x, y, t.device, model=t.replicas.model)
    assert torch.equal(fast, slow) and fast.shape == (t.comm.world,)
    t.replicas.params[0].data.view(t.comm.world, -1)[1] += 0.5                 # replicas differ: no shortcut
    assert not t.replicas.identical()


def test_fedavg_ends_with_an_averaging_even_off_the_round_boundary(tmp_path, digits):
    """FedAvg's product is the average: a run whose length is not a multiple of Iter_local still ends on one
    (counted in the bytes), unless average_at_end = false."""
    ends = trainer(cfg(algorithm={"name": "fedavg", "iter_local": 7}, solver={"iterations": 10}),
                   tmp_path / "a", data=digits)
    rows = ends.run(resume=False)
    assert ends.replicas.identical()
    model = sum(p.shape[1] for p in ends.algo.params) * 4
    assert rows[-1]["bytes_algorithm"] == 2 * ends.comm.world * model            # the round at 7 and the one at the end
    open_end = trainer(cfg(algorithm={"name": "fedavg", "iter_local": 7, "average_at_end": False},
                           solver={"iterations": 10}), tmp_path / "b", data=digits)
    rows = open_end.run(resume=False)
    assert not open_end.replicas.identical() and rows[-1]["bytes_algorithm"] == open_end.comm.world * model


def _ring(k: int) -> torch.Tensor:
    """A doubly stochastic mixing matrix: each replica keeps 1/2 and takes 1/4 from either ring neighbour."""
    W = 0.5 * torch.eye(k)
    for i in range(k):
        W[i, (i + 1) % k] += 0.25
        W[i, (i - 1) % k] += 0.25
    return W


_MIX_ON_RANK = """
import sys, torch, torch.distributed as dist
from training.comm import DistComm
rank, world, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"file://{tmp}/init", rank=rank, world_size=world)
x, W = torch.load(f"{tmp}/inputs.pt")
torch.save(DistComm().mix(x[rank:rank + 1], W), f"{tmp}/mixed.{rank}")
dist.barrier()
dist.destroy_process_group()
"""


def test_dist_mix_over_point_to_point_equals_the_local_matrix_product(tmp_path):
    """Gossip: rank k sends only to the ranks whose row of W needs it and sums what its own row needs.

    Fresh interpreters (as torchrun starts them), not forks of this many-threaded test process.
    """
    from training.comm import LocalComm

    k = 3
    W = _ring(k)
    W[0, 2], W[0, 0] = 0.0, 0.75                          # rank 0 hears only from rank 1; rank 2 still hears 0
    x = torch.randn(k, 7, generator=torch.Generator().manual_seed(0))
    torch.save((x, W), tmp_path / "inputs.pt")
    ranks = [subprocess.Popen([PYTHON, "-c", _MIX_ON_RANK, str(r), str(k), str(tmp_path)],
                              cwd=REPO, stderr=subprocess.PIPE, text=True)
             for r in range(k)]
    for r, proc in enumerate(ranks):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"rank {r}: {err[-2000:]}"
    dist = torch.cat([torch.load(tmp_path / f"mixed.{r}") for r in range(k)])
    assert torch.allclose(dist, LocalComm(k).mix(x, W), atol=1e-6)
    assert not torch.allclose(dist, x)


def test_an_unknown_config_key_is_one_line_naming_the_sections_valid_keys():
    with pytest.raises(UserError, match=r"^\[solver\] unknown key 'lr_step'; valid keys: batch_size, iterations, lr, "
                                        r"lr_gamma, lr_schedule, lr_steps, momentum, weight_decay$"):
        parse_config(cfg(solver={"lr_step": [0.5]}))
    with pytest.raises(UserError,
                       match=r"^\[algorithm\] unknown key 'treshold'; valid keys: name, threshold, staleness$"):
        parse_config(cfg(algorithm={"name": "gaia", "treshold": 0.1}))
    with pytest.raises(UserError, match=r"^\[partition\] unknown key 'alpha'; valid keys: name, num_partitions, seed, "
                                        r"skew$"):
        parse_config(cfg(partition={"name": "skew", "skew": 0.5, "alpha": 1.0}))
    with pytest.raises(UserError, match=r"^\[data\] unknown key 'prefix'; valid keys: name, test_fraction$"):
        parse_config(cfg(data={"prefix": "train"}))
    with pytest.raises(UserError, match=r"^unknown config section \[sovler\]"):
        parse_config(cfg(sovler={"lr": 0.1}))
    with pytest.raises(UserError, match=r"^\[algorithm\] Unknown algorithm 'gaja'; algorithms: bsp, "):
        parse_config(cfg(algorithm={"name": "gaja"}))
    typed = parse_config(cfg(algorithm={"name": "dgc", "sparsity": 0.9}))
    assert typed.algorithm.knobs == {"sparsity": 0.9} and typed.solver.lr_gamma == 0.1 and typed.eval_every == 6


def test_registering_an_algorithm_makes_its_keyword_arguments_config_keys():
    from training.algorithms import ALGORITHMS, BSP, register_algorithm

    @register_algorithm
    class Damped(BSP):
        name = "test-damped"

        def __init__(self, params, comm, damping: float = 0.5, **kw):
            super().__init__(params, comm, **kw)
            self.damping = damping
    try:
        assert parse_config(cfg(algorithm={"name": "test-damped", "damping": 0.1})).algorithm.knobs == {"damping": 0.1}
        with pytest.raises(UserError, match=r"valid keys: name, damping$"):
            parse_config(cfg(algorithm={"name": "test-damped", "dumping": 0.1}))
    finally:
        del ALGORITHMS["test-damped"]


def test_a_dataset_entry_carries_its_facts(digits):
    from training.data import DATASETS, list_datasets

    entry = DATASETS.lookup("digits")
    assert tuple(digits.x_train.shape[1:]) == entry.input_size and digits.num_classes == entry.num_classes == 10
    x = torch.cat([digits.x_train, digits.x_test])
    assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1) < 0.2     # normalised with the entry's mean, std
    assert {"cifar10", "digits", "imagefolder", "manifest", "mnist"} <= set(list_datasets())


def test_a_hook_records_through_its_state_and_the_trainer_takes_it_back(tmp_path, digits):
    """A hook gets a value (not the trainer): what it records and the travel it counts land in the row and the
    trainer's Traffic counter after it returns; changing the value changes nothing else."""
    t = trainer(cfg(solver={"iterations": 4}, run={"eval_every": 4}), tmp_path / "h", data=digits)
    seen = []

    def hook(state):
        seen.append((state.iteration, state.lr, state.bytes_sent()))
        state.record({"probe": state.iteration})
        state.count_travel(0)
        state.iteration = -1
    t.add_hook(2, hook)
    rows = t.run(resume=False)
    one = t.replicas.bytes_per_travel
    assert [(it, lr) for it, lr, _ in seen] == [(2, t.lr_at(2)), (4, t.lr_at(4))] and t.iteration == 4
    assert seen[1][2][1] == one                                 # the first call's travel, counted by then
    assert rows[-1]["probe"] == 4 and rows[-1]["bytes_travel"] == 2 * one
    assert rows[-1]["bytes"] == rows[-1]["bytes_algorithm"] + 2 * one and float(t.traffic.travel[0]) == 2 * one


def test_the_travel_probe_scores_dgcs_held_back_models_and_leaves_the_replicas_alone(tmp_path, digits):
    from training.skewscout import probes

    t = trainer(cfg(algorithm={"name": "dgc", "sparsity": 0.99}, solver={"iterations": 3}), tmp_path / "d",
                data=digits)
    t.run(resume=False)
    before = [p.detach().clone() for p in t.replicas.params]
    state = t.hook_state()
    view = t.algo.travel_view(state.lr)
    assert view is not None and any(float(v.abs().sum()) > 0 for v in view)
    scores = probes.travel_and_score(state, [(0, 1), (1, 2), (2, 0)], 30, 0)
    assert len(scores) == 3 and all(a.shape == b.shape for a, b in scores)
    assert all(torch.equal(a, p) for a, p in zip(before, t.replicas.params))     # nothing edited in place
    assert float(state.travel.sum()) == 3 * t.replicas.bytes_per_travel
    held = probes.held_models(state)
    for p, q, v in zip(held.parameters(), t.replicas.params, view):
        assert torch.allclose(p.view(t.replicas.count, -1), q.view(t.replicas.count, -1) - v)
