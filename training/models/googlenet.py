"""GoogLeNet v1 (Szegedy et al. 2015) in the CIFAR-sized form, with BatchNorm or GroupNorm after every conv."""
from __future__ import annotations

from torch import nn

from training.models.layers import ReplicaLinear, conv_norm_relu, replica_cat, replica_param_dims
from training.models.registry import register_model

# GoogLeNet v1's inception modules (the paper's Table 1): 1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool proj
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


class Inception(nn.Module):
    """Four branches (1×1; 1×1→3×3; 1×1→5×5; maxpool3×3→1×1) concatenated within each replica's block."""

    def __init__(self, replicas: int, cin: int, widths: tuple[int, ...], norm: str):
        super().__init__()
        k, (n1, r3, n3, r5, n5, pp) = replicas, widths
        self.replicas, self.out_chans = k, n1 + n3 + n5 + pp
        self.b1 = conv_norm_relu(k, cin, n1, 1, norm)
        self.b3 = nn.Sequential(conv_norm_relu(k, cin, r3, 1, norm), conv_norm_relu(k, r3, n3, 3, norm))
        self.b5 = nn.Sequential(conv_norm_relu(k, cin, r5, 1, norm), conv_norm_relu(k, r5, n5, 5, norm))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_norm_relu(k, cin, pp, 1, norm))

    def forward(self, x):
        return replica_cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], self.replicas)


class GoogLeNet(nn.Module):
    """The CIFAR form common for 32×32 inputs (kuangliu/pytorch-cifar): the ImageNet stem (7×7/2 conv, pools,
    LRN) becomes one conv3×3-192, then inception 3a-3b, maxpool3/2, 4a-4e, maxpool3/2, 5a-5b, global average
    pool, fc-classes (32 → 16 → 8 px). Unlike kuangliu it keeps v1's true 5×5 branch (not two 3×3), and like it
    has no auxiliary classifiers and no dropout. ``norm`` (after every conv): batchnorm or groupnorm (2 groups),
    affine. ``width`` scales every channel count (rounded to even, so 2 GN groups divide it) for tiny variants."""

    def __init__(self, num_classes: int = 10, in_chans: int = 3, img_size: int = 32, norm: str = "batchnorm",
                 replicas: int = 1, width: float = 1.0, stem: int = 192):
        super().__init__()
        k = self.replicas = replicas

        def scale(c: int) -> int:
            return max(2, 2 * round(c * width / 2))

        layers, c = [conv_norm_relu(k, in_chans, scale(stem), 3, norm)], scale(stem)
        for name, widths in INCEPTION.items():
            if name in ("4a", "5a"):
                layers.append(nn.MaxPool2d(3, 2, 1))
            layers.append(Inception(k, c, tuple(scale(w) for w in widths), norm))
            c = layers[-1].out_chans
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.classifier = ReplicaLinear(k, c, num_classes)

    def forward(self, x):
        """x: [B, K*C, H, W] (replica k's batch in channel block k) → logits [B, K, classes]."""
        return self.classifier(self.features(x).reshape(x.shape[0], self.replicas, -1))

    def param_dims(self) -> list[int]:
        return replica_param_dims(self)


def _create_googlenet(norm: str, **kwargs) -> GoogLeNet:
    return GoogLeNet(norm=norm, **kwargs)


@register_model
def googlenet_bn(**kwargs) -> GoogLeNet:
    """GoogLeNet v1 for CIFAR with BatchNorm."""
    return _create_googlenet("batchnorm", **kwargs)


@register_model
def googlenet_gn(**kwargs) -> GoogLeNet:
    """GoogLeNet v1 for CIFAR with GroupNorm, 2 groups per layer."""
    return _create_googlenet("groupnorm", **kwargs)


@register_model
def test_googlenet_bn(**kwargs) -> GoogLeNet:
    """A tiny BN-GoogLeNet (1/16 width) for tests."""
    kwargs.setdefault("width", 1 / 16)
    return _create_googlenet("batchnorm", **kwargs)


@register_model
def test_googlenet_gn(**kwargs) -> GoogLeNet:
    """A tiny GN-GoogLeNet (1/16 width) for tests."""
    kwargs.setdefault("width", 1 / 16)
    return _create_googlenet("groupnorm", **kwargs)
