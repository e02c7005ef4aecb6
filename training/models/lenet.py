"""LeNet as Caffe's `cifar10_full`, and its BatchNorm and GroupNorm variants (the paper's BN-/GN-LeNet)."""
from __future__ import annotations

import torch
from torch import nn

from training.models.layers import ReplicaLinear, norm_layer, replica_param_dims
from training.models.registry import register_model


class LeNet(nn.Module):
    """conv5×5-32, maxpool3/2, ReLU, norm, conv5×5-32, ReLU, avgpool3/2, norm, conv5×5-64, ReLU, avgpool3/2,
    fc-classes. ``norm``: lrn (Caffe), batchnorm (no affine), groupnorm (2 groups, no affine).
    ``replicas`` K > 1 holds K independent copies (grouped convolutions)."""

    def __init__(self, num_classes: int = 10, in_chans: int = 3, img_size: int = 32, norm: str = "lrn",
                 replicas: int = 1, widths: tuple[int, int, int] = (32, 32, 64)):
        super().__init__()
        k, (w1, w2, w3) = replicas, widths
        self.replicas, self.in_chans = k, in_chans
        self.features = nn.Sequential(
            nn.Conv2d(k * in_chans, k * w1, 5, padding=2, groups=k), nn.MaxPool2d(3, 2, ceil_mode=True), nn.ReLU(),
            norm_layer(norm, k, w1),
            nn.Conv2d(k * w1, k * w2, 5, padding=2, groups=k), nn.ReLU(), nn.AvgPool2d(3, 2, ceil_mode=True),
            norm_layer(norm, k, w2),
            nn.Conv2d(k * w2, k * w3, 5, padding=2, groups=k), nn.ReLU(), nn.AvgPool2d(3, 2, ceil_mode=True),
        )
        with torch.no_grad():
            n = self.features(torch.zeros(1, k * in_chans, img_size, img_size)).numel() // k
        self.classifier = ReplicaLinear(k, n, num_classes)

    def forward(self, x):
        """x: [B, K*C, H, W] (replica k's batch in channel block k) → logits [B, K, classes]."""
        f = self.features(x)
        return self.classifier(f.reshape(f.shape[0], self.replicas, -1))

    def param_dims(self) -> list[int]:
        return replica_param_dims(self)


def _create_lenet(norm: str, **kwargs) -> LeNet:
    return LeNet(norm=norm, **kwargs)


@register_model
def lenet(**kwargs) -> LeNet:
    """Caffe cifar10_full with LRN."""
    return _create_lenet("lrn", **kwargs)


@register_model
def lenet_bn(**kwargs) -> LeNet:
    """LRN replaced by BatchNorm without affine parameters."""
    return _create_lenet("batchnorm", **kwargs)


@register_model
def lenet_gn(**kwargs) -> LeNet:
    """LRN replaced by GroupNorm with 2 groups, no affine parameters."""
    return _create_lenet("groupnorm", **kwargs)


@register_model
def test_lenet_bn(**kwargs) -> LeNet:
    """A tiny BN-LeNet for tests."""
    kwargs.setdefault("widths", (4, 4, 8))
    return _create_lenet("batchnorm", **kwargs)


@register_model
def test_lenet_gn(**kwargs) -> LeNet:
    """A tiny GN-LeNet for tests."""
    kwargs.setdefault("widths", (4, 4, 8))
    return _create_lenet("groupnorm", **kwargs)
