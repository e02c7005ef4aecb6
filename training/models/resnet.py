"""ResNet-20 for CIFAR (He et al. 2016, §4.2) with BatchNorm, and its GroupNorm version (the paper's GN-ResNet-20)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from training.models.layers import ReplicaLinear, conv_norm_relu, norm_layer, replica_param_dims
from training.models.registry import register_model


class BasicBlock(nn.Module):
    """conv3×3, norm, ReLU, conv3×3, norm, + shortcut, ReLU. Where the width doubles and the map halves, the
    shortcut is He et al.'s option A: subsample by 2 and zero-pad the new channels, inside each replica's
    channel block (padding the K*C tensor as a whole would shift channels across replicas)."""

    def __init__(self, replicas: int, cin: int, cout: int, stride: int, norm: str):
        super().__init__()
        k = self.replicas = replicas
        self.stride, self.pad = stride, cout - cin
        self.conv1 = conv_norm_relu(k, cin, cout, 3, norm, stride)
        self.conv2 = nn.Conv2d(k * cout, k * cout, 3, 1, 1, groups=k, bias=False)
        self.norm2 = norm_layer(norm, k, cout, affine=True)

    def shortcut(self, x):
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, ::self.stride, ::self.stride]
        b, _, h, w = x.shape
        x = F.pad(x.reshape(b, self.replicas, -1, h, w), (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return x.reshape(b, -1, h, w)

    def forward(self, x):
        return F.relu(self.norm2(self.conv2(self.conv1(x))) + self.shortcut(x))


class ResNet(nn.Module):
    """He et al.'s CIFAR ResNet (depth 6n+2): conv3×3-16, three stages of n basic blocks at 16/32/64 channels
    (stride 2 into stages 2 and 3), global average pool, fc-classes; convolutions Kaiming-normal as in the paper.
    ``norm``: batchnorm or groupnorm, both affine. GroupNorm uses 2 groups per layer per replica, the group count
    of the paper's Caffe GN-ResNet-20 (``group_num: 2``) and of GN-LeNet, so one GN definition serves every
    model; at 16-64 channels that is 8-32 channels per group.

    The paper's Caffe ResNet-20 differs in two details kept out of here: its downsampling shortcut is a
    2×2/stride-2 convolution + norm (a projection, not option A), and it has no ReLU after the residual sum."""

    def __init__(self, num_classes: int = 10, in_chans: int = 3, img_size: int = 32, norm: str = "batchnorm",
                 replicas: int = 1, depth: int = 20, widths: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"ResNet depth {depth}: CIFAR ResNets have depth 6n+2 (20, 32, 44, 56, 110)")
        k, n = replicas, (depth - 2) // 6
        self.replicas = k
        blocks, c = [conv_norm_relu(k, in_chans, widths[0], 3, norm)], widths[0]
        for stage, w in enumerate(widths):
            for i in range(n):
                blocks.append(BasicBlock(k, c, w, 2 if stage and not i else 1, norm))
                c = w
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1))
        self.classifier = ReplicaLinear(k, c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")   # fan_in: per replica under groups=K

    def forward(self, x):
        """x: [B, K*C, H, W] (replica k's batch in channel block k) → logits [B, K, classes]."""
        return self.classifier(self.features(x).reshape(x.shape[0], self.replicas, -1))

    def param_dims(self) -> list[int]:
        return replica_param_dims(self)


def _create_resnet(norm: str, **kwargs) -> ResNet:
    return ResNet(norm=norm, **kwargs)


@register_model
def resnet20_bn(**kwargs) -> ResNet:
    """ResNet-20 with BatchNorm (per-replica statistics)."""
    return _create_resnet("batchnorm", **kwargs)


@register_model
def resnet20_gn(**kwargs) -> ResNet:
    """ResNet-20 with GroupNorm, 2 groups per layer."""
    return _create_resnet("groupnorm", **kwargs)


@register_model
def test_resnet_bn(**kwargs) -> ResNet:
    """A tiny BN-ResNet (depth 8, widths 4/8/8) for tests."""
    kwargs.setdefault("depth", 8)
    kwargs.setdefault("widths", (4, 8, 8))
    return _create_resnet("batchnorm", **kwargs)


@register_model
def test_resnet_gn(**kwargs) -> ResNet:
    """A tiny GN-ResNet (depth 8, widths 4/8/8) for tests."""
    kwargs.setdefault("depth", 8)
    kwargs.setdefault("widths", (4, 8, 8))
    return _create_resnet("groupnorm", **kwargs)
