"""Train K replicas over K partitions with one algorithm, in one process (vectorized) or one rank each."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from catalog.errors import UserError
from training.algorithms import ALGORITHMS, DGC
from training.comm import LocalComm
from training.data import Data, load_data
from training.models import create_model
from training.partitions import create_partitioner

BN_POLICIES = ("shared", "local")


class Sampler:
    """Seeded epoch permutations of one partition; its state is part of the checkpoint."""

    def __init__(self, indices: np.ndarray, seed: int, replica: int):
        self.indices = np.asarray(indices)
        self.rng = np.random.default_rng([seed, replica])
        self.perm, self.pos = self.rng.permutation(self.indices), 0

    def next(self, b: int) -> np.ndarray:
        out = []
        while len(out) < b:
            if self.pos >= len(self.perm):
                self.perm, self.pos = self.rng.permutation(self.indices), 0
            take = self.perm[self.pos: self.pos + b - len(out)]
            self.pos += len(take)
            out.extend(take.tolist())
        return np.array(out)

    def state(self):
        return {"rng": self.rng.bit_generator.state, "perm": self.perm, "pos": self.pos}

    def load(self, s):
        self.rng.bit_generator.state, self.perm, self.pos = s["rng"], s["perm"], s["pos"]


class TrainState:
    """What hooks (SkewScout) see of a running training."""

    def __init__(self, trainer: "Trainer"):
        self.t = trainer

    @property
    def iteration(self) -> int:
        return self.t.iteration

    @property
    def num_partitions(self) -> int:
        return self.t.K

    @property
    def iterations(self) -> int:
        return self.t.iterations

    def lr_at(self, iteration: int) -> float:
        return self.t.lr_at(iteration)

    @property
    def algorithm(self):
        return self.t.algo

    def record(self, fields: dict) -> None:
        self.t.extra.update(fields)

    def travel_and_score(self, pairs, sample_size: int = 200, seed: int = 0):
        return self.t.travel_and_score(pairs, sample_size, seed)

    def snapshot_replicas(self):
        return self.t.snapshot_replicas()

    def score_against_average(self, before, sample_size: int = 200, seed: int = 0):
        return self.t.score_against_average(before, sample_size, seed)

    @property
    def travel_bytes_per_model(self) -> float:
        """What one partition sends when its model travels: weights plus BN statistics."""
        return float(self.t.model_bytes + self.t.buffer_bytes)

    def bytes_sent(self) -> tuple[float, float]:
        """(algorithm, travel) bytes sent so far by all partitions; a collective on torch.distributed."""
        return float(self.t.gather(self.t.bytes).sum()), float(self.t.gather(self.t.bytes_travel).sum())


class Trainer:
    def __init__(self, config: dict, out_dir: str | Path, comm=None, data: Data | None = None):
        self.cfg, self.out = config, Path(out_dir)
        run, solver = config.get("run", {}), config.get("solver", {})
        self.seed = int(run.get("seed", 0))
        self.device = torch.device(run.get("device", "cpu"))
        self.comm = comm or LocalComm(int(config.get("partition", {}).get("num_partitions", 5)))
        self.data = data or load_data(config.get("data", {}), self.seed)
        self.parts = self._partitions()
        self.K = len(self.parts)
        if isinstance(self.comm, LocalComm):
            self.comm.world = self.K
        self.local = list(range(self.K)) if isinstance(self.comm, LocalComm) else [self.comm.rank0]
        self.L = len(self.local)
        self.batch = int(solver.get("batch_size", 20))
        self.iterations = int(solver.get("iterations", 1000))
        self.lr0 = float(solver.get("lr", 0.01))
        self.lr_steps = [int(f * self.iterations) for f in solver.get("lr_steps", [0.5, 0.75])]
        self.lr_gamma = float(solver.get("lr_gamma", 0.1))
        self.eval_every = int(run.get("eval_every", max(1, self.iterations // 10)))
        self.ckpt_every = int(run.get("checkpoint_every", self.eval_every))
        self.bn_policy = config.get("model", {}).get("bn_stats", "shared")
        if self.bn_policy not in BN_POLICIES:
            raise UserError(f"model.bn_stats {self.bn_policy!r}: use one of {', '.join(BN_POLICIES)}")
        self._build_model(config.get("model", {}))
        self._build_algorithm(config.get("algorithm", {}), solver)
        self.samplers = [Sampler(self.parts[k], self.seed, k) for k in self.local]
        self.iteration, self.rows, self.extra = 0, [], {}
        self.bytes = torch.zeros(self.L, dtype=torch.float64)
        self.bytes_travel = torch.zeros(self.L, dtype=torch.float64)
        self.hooks: list[tuple[int, callable]] = []
        self.wall0 = 0.0
        if config.get("skewscout", {}).get("enabled"):
            from training.skewscout import attach
            try:
                attach(self, config["skewscout"])
            except ValueError as e:
                raise UserError(f"[skewscout] {e}") from None

    # ---- setup -------------------------------------------------------------------------------
    def _partitions(self) -> list[np.ndarray]:
        if self.data.partitions is not None:
            return self.data.partitions
        p = dict(self.cfg.get("partition", {}))
        name = p.pop("name", "iid")
        import pyarrow as pa
        try:
            part = create_partitioner(name, seed=p.pop("seed", self.seed), **p)
        except (TypeError, ValueError) as e:
            raise UserError(f"[partition] {e}") from None
        part.dataset = pa.table({"label": self.data.y_train.numpy()})
        return [part.load_partition(k) for k in range(part.num_partitions)]

    def _build_model(self, m: dict):
        name = m.get("name", "lenet_bn")
        x = self.data.x_train
        kw = dict(num_classes=self.data.num_classes, in_chans=x.shape[1], img_size=x.shape[2])
        torch.manual_seed(self.seed)
        single = create_model(name, **kw, replicas=1)
        self.model = create_model(name, **kw, replicas=self.L).to(self.device)
        self._single = single.to(self.device)        # scores all replicas at once when they are identical
        with torch.no_grad():   # every replica starts from the same model
            for (n, pk), p1 in zip(self.model.state_dict().items(), single.state_dict().values()):
                if pk.dim() == 0:
                    pk.copy_(p1)
                else:
                    pk.view(self.L, -1).copy_(p1.reshape(1, -1).expand(self.L, -1))
        self.param_names = [n for n, _ in self.model.named_parameters()]
        self.params = [p for p in self.model.parameters()]
        self.buffers = [b for n, b in self.model.named_buffers() if n.endswith(("running_mean", "running_var"))]
        # per-replica tensor rank decides DGC compression (dim > 1 only); a model states it with param_dims()
        dims = single.param_dims() if hasattr(single, "param_dims") else [
            p.dim() - 1 if n.startswith("classifier") else p.dim() for n, p in single.named_parameters()]
        self.compress = [d > 1 for d in dims]
        self.model_bytes = 4 * sum(p.numel() for p in single.parameters())
        self.buffer_bytes = 4 * sum(b.numel() for n, b in single.named_buffers() if n.endswith(("running_mean", "running_var")))

    def _build_algorithm(self, a: dict, solver: dict):
        a = dict(a)
        name = a.pop("name", "bsp")
        if name not in ALGORITHMS:
            raise UserError(f"unknown algorithm {name!r}; algorithms are {', '.join(ALGORITHMS)}")
        views = [p.data.view(self.L, -1) for p in self.params]
        kw = dict(momentum=float(solver.get("momentum", 0.9)), weight_decay=float(solver.get("weight_decay", 5e-4)),
                  lr0=self.lr0)
        if ALGORITHMS[name] is DGC:
            kw["compress_mask"] = self.compress
        try:
            self.algo = ALGORITHMS[name](views, self.comm, **kw, **a)
        except (TypeError, ValueError) as e:
            raise UserError(f"[algorithm] {e}") from None
        self.algo.end_iteration = self.iterations

    # ---- training ----------------------------------------------------------------------------
    def add_hook(self, every: int, fn) -> None:
        self.hooks.append((int(every), fn))

    def lr_at(self, it: int) -> float:
        return self.lr0 * self.lr_gamma ** sum(it >= s for s in self.lr_steps)

    def _step(self) -> float:
        idx = [s.next(self.batch) for s in self.samplers]
        # channels-last activations: ~25% faster grouped convolutions on CPU; weights stay contiguous (the
        # algorithms view them as [K, n])
        x = torch.cat([self.data.x_train[i] for i in idx], dim=1).to(self.device, memory_format=torch.channels_last)
        y = torch.stack([self.data.y_train[i] for i in idx], dim=1).to(self.device)     # [b, L]
        self.model.train()
        logits = self.model(x)                                                          # [b, L, classes]
        losses = F.cross_entropy(logits.permute(0, 2, 1), y, reduction="none").mean(0)  # per replica
        for p in self.params:
            p.grad = None
        losses.sum().backward()
        lr = self.lr_at(self.iteration)
        with torch.no_grad():
            sent = self.algo.step([p.grad.view(self.L, -1) for p in self.params], lr, self.iteration)
            if self.buffers and self.bn_policy == "shared" and self.algo.syncs_at(self.iteration):
                for b in self.buffers:
                    b.view(self.L, -1).copy_(self.comm.mean(b.view(self.L, -1)))
                sent = sent + self.buffer_bytes
        self.bytes += sent.to(torch.float64)
        return float(losses.detach().mean())

    @torch.no_grad()
    def evaluate_local(self, x: torch.Tensor, y: torch.Tensor, batch: int = 1000, model=None) -> torch.Tensor:
        """Accuracy of each local replica (of ``model``, default the trained one) on (x, y)."""
        if model is None and self._replicas_identical():
            # after a FedAvg round (or with BSP) every replica is the same model: score it once, not L times
            with torch.no_grad():
                for t1, tk in zip(self._single_state(), self._replica_state()):
                    t1.copy_(tk.view(self.L, -1)[0].view_as(t1))
            return self.evaluate_local(x, y, batch, model=self._single).expand(self.L).clone()
        model = model or self.model
        model.eval()
        reps = 1 if model is self._single else self.L
        correct = torch.zeros(reps)
        for i in range(0, len(y), batch):
            xb = x[i:i + batch].to(self.device).repeat(1, reps, 1, 1).contiguous(memory_format=torch.channels_last)
            pred = model(xb).argmax(-1).cpu()                                           # [n, reps]
            correct += (pred == y[i:i + batch, None]).sum(0)
        return correct / max(1, len(y))

    def _replica_state(self) -> list[torch.Tensor]:
        return self.params + self.buffers

    def _single_state(self) -> list[torch.Tensor]:
        return list(self._single.parameters()) + [b for n, b in self._single.named_buffers()
                                                   if n.endswith(("running_mean", "running_var"))]

    def _replicas_identical(self) -> bool:
        if self.L == 1:
            return False
        return all(torch.equal(v[1:], v[:1].expand(self.L - 1, -1))
                   for v in (t.detach().view(self.L, -1) for t in self._replica_state()))

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        """Per-replica values of all K replicas, in replica order."""
        if isinstance(self.comm, LocalComm):
            return t
        out = [torch.zeros_like(t) for _ in range(self.K)]
        self.comm.dist.all_gather(out, t.contiguous())
        return torch.cat(out)

    def _travel_sample(self, dst: int, sample_size: int, seed: int):
        rng = np.random.default_rng([seed, dst])
        part = self.parts[dst]
        idx = rng.choice(part, size=min(sample_size, len(part)), replace=False)
        return self.data.x_train[idx], self.data.y_train[idx]

    def travel_and_score(self, pairs, sample_size: int, seed: int):
        """SkewScout: src's model visits dst; both scored on a fixed sample of dst's training data.
        Returns (local accuracy, travelled accuracy) per pair, the same on every rank."""
        if not isinstance(self.comm, LocalComm):
            return self._travel_and_score_dist(pairs, sample_size, seed)
        out = []
        for src, dst in pairs:
            acc = self.evaluate_local(*self._travel_sample(dst, sample_size, seed))
            out.append((float(acc[dst]), float(acc[src])))
            self.bytes_travel[src] += self.model_bytes + self.buffer_bytes
        return out

    def snapshot_replicas(self):
        """The local replicas as they are now, kept by SkewScout's average measure across the averaging."""
        import copy
        return copy.deepcopy(self.model)

    @torch.no_grad()
    def score_against_average(self, before, sample_size: int, seed: int):
        """(accuracy of ``before`` — the local models one step before the averaging —, accuracy of the average now
        in place) on each partition's own fixed sample, the same on every rank. Costs no bytes: every partition
        has just received the average and kept its own model."""
        out = torch.zeros(self.L, 2, dtype=torch.float64)
        for i, k in enumerate(self.local):
            x, y = self._travel_sample(k, sample_size, seed)
            out[i, 0] = float(self.evaluate_local(x, y, model=before)[i])
            out[i, 1] = float(self.evaluate_local(x, y)[i])
        both = self.gather(out.view(-1)).view(self.K, 2)
        return [(float(a), float(b)) for a, b in both]

    def _travel_and_score_dist(self, pairs, sample_size: int, seed: int):
        """Each src rank sends its weights and BN statistics to dst point-to-point; dst scores both models;
        the scores are all-reduced so every rank's controller moves the knob the same way."""
        import copy

        dist, rank = self.comm.dist, self.comm.rank0
        state = self.params + self.buffers
        flat = torch.cat([t.detach().reshape(-1) for t in state])        # on the device: nccl sends from GPU
        ops, inbox = [], {}
        for i, (src, dst) in enumerate(pairs):
            if rank == src:
                ops.append(dist.P2POp(dist.isend, flat, dst))
                self.bytes_travel[0] += self.model_bytes + self.buffer_bytes
            if rank == dst:
                inbox[i] = torch.empty_like(flat)
                ops.append(dist.P2POp(dist.irecv, inbox[i], src))
        for req in dist.batch_isend_irecv(ops) if ops else []:
            req.wait()
        scores = torch.zeros(len(pairs), 2, dtype=torch.float64, device=flat.device)
        for i, received in inbox.items():
            visitor = copy.deepcopy(self.model)
            offset = 0
            for t in [p for p in visitor.parameters()] + [b for n, b in visitor.named_buffers()
                                                          if n.endswith(("running_mean", "running_var"))]:
                t.data.copy_(received[offset: offset + t.numel()].view_as(t))
                offset += t.numel()
            x, y = self._travel_sample(pairs[i][1], sample_size, seed)
            scores[i, 0] = float(self.evaluate_local(x, y)[0])
            scores[i, 1] = float(self.evaluate_local(x, y, model=visitor)[0])
        dist.all_reduce(scores)
        return [(float(a), float(b)) for a, b in scores.cpu()]

    def _record(self, loss: float) -> dict:
        acc = self.gather(self.evaluate_local(self.data.x_test, self.data.y_test))
        bytes_all = self.gather(self.bytes)
        travel_all = self.gather(self.bytes_travel)
        part_size = float(np.mean([len(p) for p in self.parts]))
        row = {"iteration": self.iteration, "epoch": round(self.iteration * self.batch / part_size, 3),
               "lr": self.lr_at(max(0, self.iteration - 1)), "loss": round(loss, 5),
               "acc": [round(float(a), 5) for a in acc], "acc_mean": round(float(acc.mean()), 5),
               "bytes": float(bytes_all.sum() + travel_all.sum()), "bytes_algorithm": float(bytes_all.sum()),
               "bytes_travel": float(travel_all.sum()),
               "bytes_per_partition": [float(b) for b in bytes_all + travel_all],
               "knob": self.algo.get_knob(), "wall_s": round(time.perf_counter() - self.wall0, 3)} | self.extra
        self.extra = {}
        self.rows.append(row)
        return row

    # ---- checkpoints -------------------------------------------------------------------------
    def _ckpt_path(self) -> Path:
        rank = "" if isinstance(self.comm, LocalComm) else f".rank{self.comm.rank0}"
        return self.out / f"checkpoint{rank}.pt"

    def save(self) -> None:
        state = {"iteration": self.iteration, "model": self.model.state_dict(), "algo": self.algo.state_dict(),
                 "samplers": [s.state() for s in self.samplers], "bytes": self.bytes,
                 "bytes_travel": self.bytes_travel, "rows": self.rows, "hooks": self.hook_state()}
        tmp = self._ckpt_path().with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self._ckpt_path())

    def hook_state(self) -> dict:
        return {getattr(fn, "__name__", str(i)): fn.state() for i, (_, fn) in enumerate(self.hooks) if hasattr(fn, "state")}

    def load(self) -> bool:
        p = self._ckpt_path()
        if not p.exists():
            return False
        s = torch.load(p, weights_only=False)
        self.model.load_state_dict(s["model"])
        self.algo.load_state_dict(s["algo"])
        for sm, st in zip(self.samplers, s["samplers"]):
            sm.load(st)
        self.iteration, self.bytes, self.bytes_travel, self.rows = s["iteration"], s["bytes"], s["bytes_travel"], s["rows"]
        for i, (_, fn) in enumerate(self.hooks):
            key = getattr(fn, "__name__", str(i))
            if hasattr(fn, "load") and key in s.get("hooks", {}):
                fn.load(s["hooks"][key])
        return True

    def run(self, resume: bool = True, progress: bool = False) -> list[dict]:
        self.out.mkdir(parents=True, exist_ok=True)
        if resume:
            self.load()
        self.wall0 = time.perf_counter() - (self.rows[-1]["wall_s"] if self.rows else 0.0)
        writer = not isinstance(self.comm, LocalComm) and self.comm.rank0 != 0
        from tqdm import tqdm
        bar = tqdm(total=self.iterations, initial=self.iteration, unit="it", desc="train",
                   disable=not progress or writer)
        losses = []
        while self.iteration < self.iterations:
            losses.append(self._step())
            self.iteration += 1
            bar.update(1)
            for every, fn in self.hooks:
                if self.iteration % every == 0:
                    fn(TrainState(self))
            if self.iteration % self.eval_every == 0 or self.iteration == self.iterations:
                row = self._record(float(np.mean(losses)) if losses else float("nan"))
                losses = []
                bar.set_postfix(acc=f"{row['acc_mean']:.3f}", MB=f"{row['bytes'] / 1e6:.1f}")
            if self.iteration % self.ckpt_every == 0 or self.iteration == self.iterations:
                self.save()
        bar.close()
        if not writer:
            with open(self.out / "metrics.jsonl", "w") as f:
                for r in self.rows:
                    f.write(json.dumps(r) + "\n")
        return self.rows
