"""AlexNet-CIFAR as the paper's Caffe net (``cifar10/*/alexnet_train_val.prototxt``), and BN/GN variants."""
from __future__ import annotations

import math

from torch import nn

from training.models.layers import ReplicaLinear, conv_norm_relu, flat_size, replica_param_dims
from training.models.registry import register_model


class AlexNet(nn.Module):
    """conv7×7-24, maxpool3/2, conv5×5-64, maxpool3/2, conv3×3-96, conv3×3-96, conv3×3-64, maxpool3/2, fc512,
    dropout 0.5, fc-classes; ReLU after every conv and fc512. Pools round up as Caffe does (32 → 16 → 8 → 4 px).
    ``norm`` (after each conv, before its ReLU): none (the paper), batchnorm or groupnorm (2 groups), affine.
    Weights start from Caffe's "xavier" filler, uniform ±√(3/fan_in), biases 0, as the prototxt asks: the
    paper's LR of 0.001 is tuned to that scale (PyTorch's default init is √3 smaller)."""

    def __init__(self, num_classes: int = 10, in_chans: int = 3, img_size: int = 32, norm: str = "none",
                 replicas: int = 1, widths: tuple[int, ...] = (24, 64, 96, 96, 64), fc: int = 512,
                 drop_rate: float = 0.5):
        super().__init__()
        k = self.replicas = replicas
        layers, c = [], in_chans
        for i, (w, kernel) in enumerate(zip(widths, (7, 5, 3, 3, 3))):
            layers.append(conv_norm_relu(k, c, w, kernel, norm))
            if i in (0, 1, 4):
                layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
            c = w
        self.features = nn.Sequential(*layers)
        self.fc = ReplicaLinear(k, flat_size(self.features, k, in_chans, img_size), fc)
        self.drop = nn.Dropout(drop_rate)
        self.classifier = ReplicaLinear(k, fc, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, ReplicaLinear)):
                bound = math.sqrt(3 / (m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[-1]))
                nn.init.uniform_(m.weight, -bound, bound)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        """x: [B, K*C, H, W] (replica k's batch in channel block k) → logits [B, K, classes]."""
        f = self.features(x)
        return self.classifier(self.drop(self.fc(f.reshape(f.shape[0], self.replicas, -1)).relu()))

    def param_dims(self) -> list[int]:
        return replica_param_dims(self)


def _create_alexnet(norm: str, **kwargs) -> AlexNet:
    return AlexNet(norm=norm, **kwargs)


@register_model
def alexnet_cifar(**kwargs) -> AlexNet:
    """The paper's AlexNet for CIFAR-10, no normalization."""
    return _create_alexnet("none", **kwargs)


@register_model
def alexnet_cifar_bn(**kwargs) -> AlexNet:
    """BatchNorm (affine) after every convolution."""
    return _create_alexnet("batchnorm", **kwargs)


@register_model
def alexnet_cifar_gn(**kwargs) -> AlexNet:
    """GroupNorm with 2 groups (affine) after every convolution."""
    return _create_alexnet("groupnorm", **kwargs)


@register_model
def test_alexnet(**kwargs) -> AlexNet:
    """A tiny AlexNet-CIFAR (no norm) for tests."""
    kwargs.setdefault("widths", (4, 4, 4, 4, 4))
    kwargs.setdefault("fc", 8)
    return _create_alexnet("none", **kwargs)


@register_model
def test_alexnet_bn(**kwargs) -> AlexNet:
    """A tiny BN-AlexNet for tests."""
    kwargs.setdefault("widths", (4, 4, 4, 4, 4))
    kwargs.setdefault("fc", 8)
    return _create_alexnet("batchnorm", **kwargs)


@register_model
def test_alexnet_gn(**kwargs) -> AlexNet:
    """A tiny GN-AlexNet for tests."""
    kwargs.setdefault("widths", (4, 4, 4, 4, 4))
    kwargs.setdefault("fc", 8)
    return _create_alexnet("groupnorm", **kwargs)
