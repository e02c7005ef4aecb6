"""LeNet (Caffe cifar10_full, padded for 28×28) on MNIST-10k, FedAvg, 5 label-exclusive partitions × 50 local
steps of batch 20 × 10 rounds: our vectorized simulator, a plain per-replica PyTorch loop, Flower's
run_simulation (if flwr[simulation] is importable), and one model on the same sample-gradients at batch 100.

``--ring``: gossip instead, D-PSGD on a 32-node ring (IID partitions, batch 5 per node, every step mixes with the
two neighbours): the simulator against a plain per-node loop and one model at batch 160, taking turns, training and
evaluation timed apart, wall and CPU seconds.

    .venv/bin/python benchmarks/simulate.py [--mnist ../shared/data/mnist] [--rounds 10] [--ring [--steps 100]]
                                            [--threads N]
"""
from __future__ import annotations

import os

# Before torch starts OpenMP: waiting threads sleep instead of spinning. On a machine shared with other jobs a
# spinning thread burns the time slice its partner needs (the ring's 32-group simulator lost 2x to it at load 15);
# idle, it costs microseconds. Every contender runs under the same policy; OMP_WAIT_POLICY=ACTIVE to compare.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import copy  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from training.data import load_data  # noqa: E402
from training.models import create_model  # noqa: E402
from training.partitions import LabelExclusivePartitioner  # noqa: E402
from training.runner import run_training  # noqa: E402
from training.sampler import Sampler  # noqa: E402
from training.topology import mixing_matrix  # noqa: E402

SCRATCH = Path(tempfile.gettempdir()) / "flickr-mammal-bench"   # --scratch overrides

K, LOCAL, B = 5, 50, 20
RING_K, RING_B = 32, 5
LENET = dict(num_classes=10, in_chans=1, img_size=28)


def timed(fn, *args):
    """``fn(*args)`` and its wall seconds."""
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def partition(data, partitioner) -> list[np.ndarray]:
    import pyarrow as pa

    partitioner.dataset = pa.table({"label": data.y_train.numpy()})
    return [partitioner.load_partition(k) for k in range(partitioner.num_partitions)]


def config(mnist: str, rounds: int, seed: int = 0) -> dict:
    return {"data": {"name": "mnist", "path": mnist, "test_fraction": 0.2},
            "partition": {"name": "label-exclusive", "num_partitions": K}, "model": {"name": "lenet"},
            "algorithm": {"name": "fedavg", "iter_local": LOCAL},
            "solver": {"lr": 0.01, "batch_size": B, "iterations": LOCAL * rounds, "lr_steps": []},
            "run": {"seed": seed, "eval_every": LOCAL * rounds}}


def plain_loop(data, parts, rounds: int, seed: int = 0) -> float:
    """The straightforward way: K separate models, a Python loop over them, averaging every LOCAL steps."""
    torch.manual_seed(seed)
    base = create_model("lenet", **LENET).to(memory_format=torch.channels_last)   # each contender at its fastest
    models = [copy.deepcopy(base) for _ in range(K)]
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4) for m in models]
    samplers = [Sampler(parts[k], seed, k) for k in range(K)]        # the simulator's data order
    for _ in range(rounds):
        for k, (m, o) in enumerate(zip(models, opts)):
            for _ in range(LOCAL):
                idx = samplers[k].next(B)
                sgd_step(m, o, data.x_train[idx], data.y_train[idx])
        with torch.no_grad():
            for ps in zip(*(m.parameters() for m in models)):
                mean = torch.stack([p for p in ps]).mean(0)
                for p in ps:
                    p.copy_(mean)
    with torch.no_grad():
        acc = [(m(data.x_test)[:, 0].argmax(-1) == data.y_test).float().mean().item() for m in models]
    return float(np.mean(acc))


def sgd_step(m, o, x, y) -> None:
    loss = F.cross_entropy(m(x)[:, 0], y)
    o.zero_grad()
    loss.backward()
    o.step()


def single_model(data, steps: int, batch: int, seed: int = 0) -> float:
    """The limit: one model, the same number of sample-gradients, one batch of all partitions' samples."""
    torch.manual_seed(seed)
    m = create_model("lenet", **LENET).to(memory_format=torch.channels_last)
    o = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    sampler = Sampler(np.arange(len(data.y_train)), seed, 0)
    for _ in range(steps):
        idx = sampler.next(batch)
        sgd_step(m, o, data.x_train[idx], data.y_train[idx])
    with torch.no_grad():
        return (m(data.x_test)[:, 0].argmax(-1) == data.y_test).float().mean().item()


def ring_config(mnist: str, steps: int, seed: int = 0) -> dict:
    return {"data": {"name": "mnist", "path": mnist, "test_fraction": 0.2},
            "partition": {"name": "iid", "num_partitions": RING_K}, "model": {"name": "lenet"},
            "algorithm": {"name": "dsgd"}, "topology": {"name": "ring"},
            "solver": {"lr": 0.01, "batch_size": RING_B, "iterations": steps, "lr_steps": []},
            "run": {"seed": seed, "eval_every": steps}}


class OursRing:
    """The simulator: the product's Trainer (the loop of ``Trainer.run`` without its checkpoint and metrics
    files), 32 replicas as one grouped model, one ``W @ x`` per tensor to gossip."""

    def __init__(self, cfg: dict, data):
        from training.config import parse_config
        from training.trainer import Trainer

        self.t = Trainer(parse_config(cfg), SCRATCH / "bench-ring", data=data)

    def train(self, steps: int) -> None:
        for _ in range(steps):
            self.t._step()
            self.t.iteration += 1

    def evaluate(self) -> float:
        from training.evaluation import replica_accuracy

        t = self.t
        return float(replica_accuracy(t.replicas, t.data.x_test, t.data.y_test, t.device).mean())


class PlainRing:
    """D-PSGD the straightforward way: 32 models, a Python loop for the local steps, then each parameter mixed with
    the ring's Metropolis-Hastings matrix."""

    def __init__(self, data, parts, seed: int = 0):
        torch.manual_seed(seed)
        base = create_model("lenet", **LENET).to(memory_format=torch.channels_last)
        self.data, self.models = data, [copy.deepcopy(base) for _ in range(RING_K)]
        self.opts = [torch.optim.SGD(m.parameters(), lr=0.01, weight_decay=5e-4) for m in self.models]
        self.samplers = [Sampler(parts[k], seed, k) for k in range(RING_K)]
        self.W = mixing_matrix("ring", RING_K).float()

    def train(self, steps: int) -> None:
        d = self.data
        for _ in range(steps):
            for k, (m, o) in enumerate(zip(self.models, self.opts)):
                idx = self.samplers[k].next(RING_B)
                sgd_step(m, o, d.x_train[idx], d.y_train[idx])
            with torch.no_grad():
                for ps in zip(*(m.parameters() for m in self.models)):
                    mixed = (self.W @ torch.stack([p.reshape(-1) for p in ps])).view(RING_K, *ps[0].shape)
                    for p, q in zip(ps, mixed):
                        p.copy_(q)

    @torch.no_grad()
    def evaluate(self) -> float:
        d = self.data
        return float(np.mean([(m.eval()(d.x_test)[:, 0].argmax(-1) == d.y_test).float().mean().item()
                              for m in self.models]))


class SingleModel:
    """The limit: one model, the same sample-gradients per step in one batch of all nodes' samples."""

    def __init__(self, data, batch: int, seed: int = 0):
        torch.manual_seed(seed)
        self.data, self.batch = data, batch
        self.m = create_model("lenet", **LENET).to(memory_format=torch.channels_last)
        self.o = torch.optim.SGD(self.m.parameters(), lr=0.01, weight_decay=5e-4)   # D-PSGD: no momentum
        self.sampler = Sampler(np.arange(len(data.y_train)), seed, 0)

    def train(self, steps: int) -> None:
        for _ in range(steps):
            idx = self.sampler.next(self.batch)
            sgd_step(self.m, self.o, self.data.x_train[idx], self.data.y_train[idx])

    @torch.no_grad()
    def evaluate(self) -> float:
        return (self.m.eval()(self.data.x_test)[:, 0].argmax(-1) == self.data.y_test).float().mean().item()


def clocked(fn, *args) -> tuple[object, float, float]:
    """``fn(*args)``, its wall seconds and this process's CPU seconds (all threads)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def ring(mnist: str, steps: int, chunks: int = 10) -> None:
    """The three contenders take turns, ``steps / chunks`` steps each, so that a machine shared with other jobs
    loads them alike; training and evaluation (the simulator and the loop score 32 models, the limit one) are
    timed apart."""
    from training.partitions import IidPartitioner

    load0 = os.getloadavg()
    cfg = ring_config(mnist, steps)
    data = load_data(cfg["data"], 0)
    parts = partition(data, IidPartitioner(RING_K))
    who = {f"one model, batch {RING_K * RING_B} (the limit)": SingleModel(data, RING_K * RING_B),
           "flickr-mammal simulator": OursRing(cfg, data), "plain per-node loop": PlainRing(data, parts)}
    train = {n: [0.0, 0.0] for n in who}
    done = 0
    while done < steps:
        n_steps = min(max(1, steps // chunks), steps - done)
        for name, c in who.items():
            _, w, cpu = clocked(c.train, n_steps)
            train[name][0] += w
            train[name][1] += cpu
        done += n_steps
    evals = {name: clocked(c.evaluate) for name, c in who.items()}
    load1 = os.getloadavg()
    limit = next(iter(who))
    lw, lc = train[limit]
    print(f"\nLeNet on MNIST-10k, D-PSGD on a {RING_K}-node ring, {steps} steps of batch {RING_B} per node "
          f"({torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; turns of "
          f"{max(1, steps // chunks)} steps; load average {load0[0]:.1f} → {load1[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'':<36}{'train s':>9}{'x limit':>9}{'CPU s':>8}{'x limit':>9}{'eval s':>8}{'total x':>9}{'test acc':>10}")
    for name in who:
        (w, c), (acc, ew, _) = train[name], evals[name]
        print(f"{name:<36}{w:>9.1f}{w / lw:>9.2f}{c:>8.1f}{c / lc:>9.2f}{ew:>8.1f}"
              f"{(w + ew) / (lw + evals[limit][1]):>9.2f}{100 * acc:>9.1f}%")
    print("train: wall seconds of the training steps, and this process's CPU seconds for them (less sensitive to "
          "other jobs); eval: one pass over the 2,000 test images per model (32 models against 1), CPU s: "
          + ", ".join(f"{name} {cpu:.1f}" for name, (_, _, cpu) in evals.items()))


def flower(data, parts, rounds: int):
    try:
        import flwr  # noqa: F401
        from flwr.client import ClientApp, NumPyClient
        from flwr.server import ServerApp, ServerAppComponents, ServerConfig
        from flwr.server.strategy import FedAvg
        from flwr.simulation import run_simulation
    except Exception as e:                     # noqa: BLE001
        return None, f"flwr[simulation] not importable ({type(e).__name__}; bash benchmarks/flower-venv.sh)"

    def get(m):
        return [p.detach().numpy().copy() for p in m.state_dict().values()]

    def put(m, arrays):
        m.load_state_dict({k: torch.tensor(v) for k, v in zip(m.state_dict(), arrays)})

    class Client(NumPyClient):
        def __init__(self, k):
            self.k = k
            torch.manual_seed(0)
            self.m = create_model("lenet", **LENET).to(memory_format=torch.channels_last)
            self.sampler = Sampler(parts[k], 0, k)     # Flower rebuilds clients each round: order restarts

        def get_parameters(self, config):
            return get(self.m)

        def fit(self, parameters, cfg):
            put(self.m, parameters)
            o = torch.optim.SGD(self.m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
            for _ in range(LOCAL):
                idx = self.sampler.next(B)
                loss = F.cross_entropy(self.m(data.x_train[idx])[:, 0], data.y_train[idx])
                o.zero_grad()
                loss.backward()
                o.step()
            return get(self.m), LOCAL * B, {}

    client_app = ClientApp(client_fn=lambda ctx: Client(int(ctx.node_config["partition-id"])).to_client())

    final = {}

    def evaluate(server_round, arrays, cfg):
        if server_round == rounds:              # score the global model once, after the last round
            m = create_model("lenet", **LENET)
            put(m, arrays)
            with torch.no_grad():
                final["acc"] = (m(data.x_test)[:, 0].argmax(-1) == data.y_test).float().mean().item()
        return None

    def server_fn(ctx):
        return ServerAppComponents(strategy=FedAvg(fraction_evaluate=0.0, min_available_clients=K,
                                                   evaluate_fn=evaluate),
                                   config=ServerConfig(num_rounds=rounds))
    t0 = time.perf_counter()
    run_simulation(server_app=ServerApp(server_fn=server_fn), client_app=client_app, num_supernodes=K,
                   backend_config={"client_resources": {"num_cpus": 1}})
    return time.perf_counter() - t0, final.get("acc")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--no-flower", action="store_true")
    ap.add_argument("--seeds", type=int, default=3, help="seeds for the accuracy columns (timings: seed 0)")
    ap.add_argument("--ring", action="store_true", help="D-PSGD on a 32-node ring instead of FedAvg")
    ap.add_argument("--steps", type=int, default=100, help="--ring: iterations")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's, one per core)")
    ap.add_argument("--scratch", default=None,
                    help="folder for the runs' checkpoints and metrics (default: a new one in the system's temp dir)")
    a = ap.parse_args()
    global SCRATCH
    SCRATCH = Path(a.scratch) if a.scratch else Path(tempfile.mkdtemp(prefix="flickr-mammal-bench-"))
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.ring:
        return ring(a.mnist, a.steps)
    cfg = config(a.mnist, a.rounds)
    data = load_data(cfg["data"], 0)
    parts = partition(data, LabelExclusivePartitioner(K))
    rows, t_ours = timed(lambda: run_training(cfg, SCRATCH / "bench-sim", resume=False))
    acc_loop, t_loop = timed(plain_loop, data, parts, a.rounds)
    acc_single, t_single = timed(single_model, data, a.rounds * LOCAL, K * B)
    t_flwr, why = (None, "skipped") if a.no_flower else flower(data, parts, a.rounds)
    # FedAvg on label-exclusive partitions is chaotic: the simulator and the loop agree to ~4e-5 after the first
    # round, yet float rounding (grouped vs plain convolutions) grows ×20 per round, so compare over seeds
    accs = {"ours": [rows[-1]["acc_mean"]], "loop": [acc_loop], "single": [acc_single]}
    for seed in range(1, a.seeds):
        accs["ours"].append(run_training(config(a.mnist, a.rounds, seed), SCRATCH / f"bench-sim-{seed}",
                                         resume=False)[-1]["acc_mean"])
        accs["loop"].append(plain_loop(data, parts, a.rounds, seed))
        accs["single"].append(single_model(data, a.rounds * LOCAL, K * B, seed))
    spread = {k: f"{100 * np.mean(v):5.1f} ± {100 * np.std(v):4.1f}%" for k, v in accs.items()}
    print(f"\nLeNet on MNIST-10k, FedAvg, {K} label-exclusive partitions x {LOCAL} local steps of batch {B} x "
          f"{a.rounds} rounds, {torch.get_num_threads()} threads")
    print(f"{'':<36}{'wall s':>8}{'x limit':>9}{'test acc':>10}{f'acc over {a.seeds} seeds':>20}")
    for name, t, acc, key in (("one model, batch 100 (the limit)", t_single, acc_single, "single"),
                              ("flickr-mammal simulator", t_ours, rows[-1]["acc_mean"], "ours"),
                              ("plain per-replica loop", t_loop, acc_loop, "loop")):
        print(f"{name:<36}{t:>8.1f}{t / t_single:>9.2f}{100 * acc:>9.1f}%{spread[key]:>20}")
    if t_flwr:
        acc_flwr = f"{100 * why:>9.1f}%" if why is not None else f"{'—':>10}"
        print(f"{'Flower run_simulation':<36}{t_flwr:>8.1f}{t_flwr / t_single:>9.2f}{acc_flwr}")
    else:
        print(f"{'Flower run_simulation':<36}{'—':>8}   {why}")


if __name__ == "__main__":
    main()
