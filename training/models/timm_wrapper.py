"""Any timm model as K replicas: its parameters stacked [K, ...] and run per replica with ``functional_call``.

``create_model("timm:resnet18")`` keeps the model's own norm layers; ``create_model("timm-gn:resnet18")`` (or
``"timm:resnet18", norm="groupnorm"``) swaps every BatchNorm2d for GroupNorm. The model name is all a training
config carries, hence the ``timm-gn:`` prefix.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from training.models.registry import register_model, register_model_prefix

TIMM_NORMS = ("default", "groupnorm")


def swap_batchnorm(model: nn.Module, groups: int = 32) -> nn.Module:
    """BatchNorm2d → GroupNorm in place; timm's BatchNormAct2d → GroupNormAct with the same activation and drop.
    ``groups`` 32 is Wu & He's default; a layer whose width it does not divide gets gcd(groups, width) groups."""
    from timm.layers import BatchNormAct2d, GroupNormAct

    for parent in list(model.modules()):
        for name, bn in list(parent.named_children()):
            if not isinstance(bn, nn.BatchNorm2d):
                continue
            g = math.gcd(groups, bn.num_features)
            if isinstance(bn, BatchNormAct2d):
                gn = GroupNormAct(bn.num_features, g, eps=bn.eps, affine=bn.affine, apply_act=False)
                gn.act, gn.drop = bn.act, bn.drop
            else:
                gn = nn.GroupNorm(g, bn.num_features, eps=bn.eps, affine=bn.affine)
            setattr(parent, name, gn)
    return model


def _timm_model(name: str, num_classes: int, in_chans: int, img_size: int | None, **kwargs) -> nn.Module:
    import timm

    if not timm.is_model(name):
        raise ValueError(f"timm has no model {name!r}; pick one from timm.list_models(), e.g. 'timm:resnet18'")
    kw = dict(pretrained=False, num_classes=num_classes, in_chans=in_chans, **kwargs)
    try:   # ViT-likes size their patch grid from img_size; convnets do not take it
        return timm.create_model(name, img_size=img_size, **kw)
    except TypeError:
        return timm.create_model(name, **kw)


class TimmReplicas(nn.Module):
    """K independent copies of one timm model. Each parameter and buffer is stacked to [K, ...] (so
    ``.view(K, -1)`` row k is replica k) and registered under its timm name with '.' → '-'; the timm module
    itself is kept off the module tree, on the meta device, as a template for ``functional_call``.

    Forward runs all replicas in one ``vmap`` when the model has no BatchNorm. BatchNorm updates its running
    statistics in place, which ``vmap`` refuses in train mode, so a model with BatchNorm runs a loop of K
    ``functional_call``s over row views instead (the statistics land in the stacked buffers; K times slower
    than one batched call). Use ``norm="groupnorm"`` (the ``timm-gn:`` prefix) for the vectorized path."""

    def __init__(self, model_name: str, num_classes: int = 10, in_chans: int = 3, img_size: int | None = None,
                 replicas: int = 1, norm: str = "default", gn_groups: int = 32, **timm_kwargs):
        super().__init__()
        if norm not in TIMM_NORMS:
            raise ValueError(f"timm norm {norm!r}: use one of {', '.join(TIMM_NORMS)} "
                             "('default' keeps the model's own norm layers)")
        models = [_timm_model(model_name, num_classes, in_chans, img_size, **timm_kwargs) for _ in range(replicas)]
        if norm == "groupnorm":
            models = [swap_batchnorm(m, gn_groups) for m in models]
        params, buffers = stack_module_state(models)
        persistent = set(models[0].state_dict())
        self.replicas, self.model_name = replicas, model_name
        self._names = {"params": list(params), "buffers": list(buffers)}
        for n, p in params.items():
            self.register_parameter(n.replace(".", "-"), nn.Parameter(p.detach()))
        for n, b in buffers.items():
            self.register_buffer(n.replace(".", "-"), b, persistent=n in persistent)
        object.__setattr__(self, "template", models[0].to("meta"))   # not a submodule: no params of its own
        self.vectorized = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
                                  for m in self.template.modules())

    def _call(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    def forward(self, x):
        """x: [B, K*C, H, W] (replica k's batch in channel block k) → logits [B, K, classes]."""
        b, _, h, w = x.shape
        xs = x.reshape(b, self.replicas, -1, h, w).transpose(0, 1)                  # [K, B, C, H, W]
        params = {n: self._parameters[n.replace(".", "-")] for n in self._names["params"]}
        buffers = {n: self._buffers[n.replace(".", "-")] for n in self._names["buffers"]}
        self.template.train(self.training)
        if self.vectorized:
            out = vmap(self._call, randomness="different")(params, buffers, xs)
        else:
            out = torch.stack([self._call({n: p[k] for n, p in params.items()},
                                          {n: t[k] for n, t in buffers.items()}, xs[k])
                               for k in range(self.replicas)])
        return out.transpose(0, 1)

    def param_dims(self) -> list[int]:
        return [p.dim() - 1 for p in self.parameters()]


@register_model_prefix("timm")
def create_timm_model(model_name: str, norm: str = "default", **kwargs) -> TimmReplicas:
    """``create_timm_model("resnet18", norm="groupnorm", num_classes=10, replicas=5)``; the registry sends
    ``timm:<name>`` here."""
    return TimmReplicas(model_name, norm=norm, **kwargs)


@register_model_prefix("timm-gn")
def create_timm_gn_model(model_name: str, **kwargs) -> TimmReplicas:
    """``timm-gn:<name>``: the timm model with its BatchNorm2d swapped for GroupNorm."""
    return create_timm_model(model_name, **{"norm": "groupnorm", **kwargs})


TEST_RESNET = dict(stem_width=8, channels=(8, 8, 8, 8))   # timm's test_resnet is 373k parameters; this 15k


@register_model
def test_timm_resnet_bn(**kwargs) -> TimmReplicas:
    """timm's ``test_resnet`` at width 8 with its own BatchNorm (per-replica loop), for tests."""
    return create_timm_model("test_resnet", **{**TEST_RESNET, **kwargs})


@register_model
def test_timm_resnet_gn(**kwargs) -> TimmReplicas:
    """timm's ``test_resnet`` at width 8 with BatchNorm swapped for GroupNorm (vmap), for tests; 2 groups, since
    32 would leave one channel per group, which normalizes a 1×1 map to zero."""
    return create_timm_model("test_resnet", norm="groupnorm", **{**TEST_RESNET, "gn_groups": 2, **kwargs})
