"""Accuracy of every replica this process holds: one grouped forward pass per chunk of examples, the chunk sized so
the largest activation stays within a memory budget.

Why chunks: the grouped model's activations grow with examples × replicas. Scoring 32 LeNets on 1,000 MNIST images
at once made ~3.2 GB of first-layer activations and ran 3.3× slower than one model at a time; chunks of a few MB
per forward stay in cache and beat the per-model loop (docs/training.md, ``benchmarks/evaluation_speed.py``).
"""
from __future__ import annotations

import weakref

import torch
from torch import nn

from training.replicas import Replicas

# Bytes of the largest activation of one forward pass (examples × replicas × one example's bytes for one replica).
# 32 MB: on the 2-core CPU, budgets of 16–64 MB scored K = 4, 8 and 32 LeNets fastest (tuned on 400 random images;
# 256 MB was 1.3–1.5× slower, and so was scoring each replica as a single model, at every K).
EVAL_BUDGET = 32 << 20

_ACTIVATION: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # model → {input shape: bytes}


@torch.no_grad()
def activation_bytes(model: nn.Module, reps: int, example: torch.Tensor, device) -> int:
    """Bytes of the largest activation (any leaf module's output) that one example makes for one replica, by a
    one-example dry run (cached per model and input shape). ``example``: ``[1, C, H, W]``."""
    shapes = _ACTIVATION.setdefault(model, {})
    key = (reps, *example.shape[1:])
    if key not in shapes:
        largest = [0]

        def hook(_m, _i, out):
            if isinstance(out, torch.Tensor):
                largest[0] = max(largest[0], out.numel() * out.element_size())

        leaves = [m for m in model.modules() if not list(m.children())]
        handles = [m.register_forward_hook(hook) for m in leaves]
        try:
            was_training = model.training
            model.eval()(_grouped(example, reps, device))
            model.train(was_training)
        finally:
            for h in handles:
                h.remove()
        shapes[key] = max(1, largest[0] // reps)
    return shapes[key]


def chunk_size(model: nn.Module, reps: int, x: torch.Tensor, device, budget: int = EVAL_BUDGET) -> int:
    """Examples per forward so that examples × replicas × one example's largest activation ≤ ``budget`` (at least
    one example: below that, ``replica_correctness`` scores replicas one at a time)."""
    return max(1, budget // (reps * activation_bytes(model, reps, x[:1], device)))


def _grouped(xb: torch.Tensor, reps: int, device) -> torch.Tensor:
    """Replica k's copy of the batch in channel block k, channels-last (grouped convolutions are faster so)."""
    return xb.to(device).repeat(1, reps, 1, 1).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def correctness(model: nn.Module, reps: int, x: torch.Tensor, y: torch.Tensor, device, budget: int = EVAL_BUDGET
                ) -> torch.Tensor:
    """Whether each of the ``reps`` replicas in ``model`` classifies each example right, ``[n, reps]`` (0/1 float)."""
    model.eval()
    out = torch.zeros(len(y), reps)
    if len(y) == 0:
        return out
    batch = chunk_size(model, reps, x, device, budget)
    for i in range(0, len(y), batch):
        pred = model(_grouped(x[i:i + batch], reps, device)).argmax(-1).cpu()       # [n, reps]
        out[i:i + batch] = (pred == y[i:i + batch, None]).float()
    return out


def accuracy(model: nn.Module, reps: int, x: torch.Tensor, y: torch.Tensor, device, budget: int = EVAL_BUDGET
             ) -> torch.Tensor:
    """Accuracy of each of the ``reps`` replicas in ``model`` on (x, y), ``[reps]``."""
    return correctness(model, reps, x, y, device, budget).sum(0) / max(1, len(y))


def replica_correctness(replicas: Replicas, x: torch.Tensor, y: torch.Tensor, device, model: nn.Module | None = None,
                        budget: int = EVAL_BUDGET) -> torch.Tensor:
    """Per-example correctness of each replica (of ``model``, default the trained ones) on (x, y), ``[n, L]``.
    After a FedAvg round (or with BSP) every replica is the same model: it is scored once, not L times.
    The rule: all replicas in one grouped pass, chunked to ``budget``, unless one example across all of them
    already exceeds it; then each replica alone as a single model (slower on CPU, ~1.4×, but bounded)."""
    if model is None and replicas.identical():
        return correctness(replicas.replica_as_single(0), 1, x, y, device, budget).expand(-1, replicas.count).clone()
    model = model or replicas.model
    reps = 1 if model is replicas.single else replicas.count
    if reps > 1 and len(y) and reps * activation_bytes(model, reps, x[:1], device) > budget:
        return torch.cat([correctness(replicas.replica_as_single(k, model), 1, x, y, device, budget)
                          for k in range(reps)], dim=1)
    return correctness(model, reps, x, y, device, budget)


def replica_accuracy(replicas: Replicas, x: torch.Tensor, y: torch.Tensor, device, model: nn.Module | None = None,
                     budget: int = EVAL_BUDGET) -> torch.Tensor:
    """Accuracy of each replica (of ``model``, default the trained ones) on (x, y), ``[L]``."""
    return replica_correctness(replicas, x, y, device, model, budget).sum(0) / max(1, len(y))
