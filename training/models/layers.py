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


# norm layers by name: (replicas, channels, affine) -> module over K*channels
NORM_LAYERS = {
    "lrn": lambda k, c, affine: ReplicaLRN(k),
    "batchnorm": lambda k, c, affine: nn.BatchNorm2d(k * c, affine=affine),
    "groupnorm": lambda k, c, affine: nn.GroupNorm(2 * k, k * c, affine=affine),   # 2 groups per replica (paper)
    "none": lambda k, c, affine: nn.Identity(),
}


def norm_layer(name: str, replicas: int, channels: int, affine: bool = False) -> nn.Module:
    """``affine=False`` is the paper's BN-/GN-LeNet; ResNet-20 and GoogLeNet use the usual learned scale and shift
    (the paper's Caffe ResNet-20 follows each BatchNorm/GroupNorm with a Scale layer)."""
    key = name.lower().replace("_", "")
    if key not in NORM_LAYERS:
        raise ValueError(f"Invalid norm layer: {name!r}. Must be one of ({', '.join(NORM_LAYERS)}).")
    return NORM_LAYERS[key](replicas, channels, affine)


def replica_cat(xs: list[torch.Tensor], replicas: int) -> torch.Tensor:
    """Channel concatenation that keeps replica blocks: K*C_i-channel maps → K*ΣC_i channels, replica-major.
    A plain ``torch.cat(dim=1)`` would put branch blocks first and hand replica 0's channels to replica 1."""
    b, _, h, w = xs[0].shape
    return torch.cat([x.reshape(b, replicas, -1, h, w) for x in xs], 2).reshape(b, -1, h, w)


def replica_param_dims(model: nn.Module) -> list[int]:
    """Each parameter's per-replica rank, in ``parameters()`` order (DGC compresses only rank > 1).
    ReplicaLinear stacks K matrices along a new leading dim (rank − 1); grouped convolutions and norms lay the
    replicas end to end along dim 0, so a replica's slice has the tensor's own rank."""
    stacked = {id(p) for m in model.modules() if isinstance(m, ReplicaLinear) for p in m.parameters(recurse=False)}
    return [p.dim() - (id(p) in stacked) for p in model.parameters()]


def conv_norm_relu(replicas: int, cin: int, cout: int, kernel: int, norm: str = "none",
                   stride: int = 1) -> nn.Sequential:
    """Grouped k×k convolution ('same' padding), norm (affine), ReLU. The bias is dropped under a norm layer,
    which would cancel or duplicate it."""
    k = replicas
    return nn.Sequential(
        nn.Conv2d(k * cin, k * cout, kernel, stride, kernel // 2, groups=k, bias=norm == "none"),
        norm_layer(norm, k, cout, affine=True), nn.ReLU())


@torch.no_grad()
def flat_size(features: nn.Module, replicas: int, in_chans: int, img_size: int) -> int:
    """Per-replica feature count after ``features``, by a dry run in eval mode (a train-mode run would move
    BatchNorm's running statistics before training starts)."""
    was_training = features.training
    n = features.eval()(torch.zeros(1, replicas * in_chans, img_size, img_size)).numel() // replicas
    features.train(was_training)
    return n
