"""Layers that hold K independent replicas in one module: grouped convolutions, per-replica linear and norms.

Replica k owns channel block k of every activation, so one forward pass trains all K replicas at once, and
BatchNorm statistics come from each replica's own minibatch (the paper's per-partition BN semantics).
"""
from __future__ import annotations

import math

import torch
from torch import nn


class ReplicaLinear(nn.Module):
    """x [B, K, in] → [B, K, out] with a weight per replica."""

    def __init__(self, replicas: int, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(replicas, out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(replicas, out_features))
        bound = 1 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return torch.einsum("bki,koi->bko", x, self.weight) + self.bias


class ReplicaLRN(nn.Module):
    """Caffe's across-channel LRN, applied inside each replica's channel block only."""

    def __init__(self, replicas: int, size: int = 3, alpha: float = 5e-5, beta: float = 0.75):
        super().__init__()
        self.replicas = replicas
        self.lrn = nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=1.0)

    def forward(self, x):
        b, kc, h, w = x.shape
        return self.lrn(x.reshape(b * self.replicas, kc // self.replicas, h, w)).reshape(b, kc, h, w)


# norm layers by name: (replicas, channels) -> module over K*channels
NORM_LAYERS = {
    "lrn": lambda k, c: ReplicaLRN(k),
    "batchnorm": lambda k, c: nn.BatchNorm2d(k * c, affine=False),
    "groupnorm": lambda k, c: nn.GroupNorm(2 * k, k * c, affine=False),   # 2 groups per replica (GN-LeNet)
    "none": lambda k, c: nn.Identity(),
}


def norm_layer(name: str, replicas: int, channels: int) -> nn.Module:
    key = name.lower().replace("_", "")
    if key not in NORM_LAYERS:
        raise ValueError(f"Invalid norm layer: {name!r}. Must be one of ({', '.join(NORM_LAYERS)}).")
    return NORM_LAYERS[key](replicas, channels)
