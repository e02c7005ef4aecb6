"""Models by name: ``@register_model`` adds one, ``create_model(name, **kwargs)`` builds it (timm's pattern)."""
from __future__ import annotations

import fnmatch
import warnings
from typing import Callable

_model_entrypoints: dict[str, Callable] = {}


def register_model(fn: Callable) -> Callable:
    name = fn.__name__
    if name in _model_entrypoints:
        warnings.warn(f"model {name!r} registered twice; the later definition wins", stacklevel=2)
    _model_entrypoints[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    return sorted(n for n in _model_entrypoints if fnmatch.fnmatch(n, pattern))


def create_model(name: str, **kwargs):
    """Build a registered model, or any timm model as replicas.

    Args:
        name: a registered name (``list_models()``), ``"timm:<timm name>"`` (the timm model with its own norm
            layers) or ``"timm-gn:<timm name>"`` (its BatchNorm2d swapped for GroupNorm).

    Keyword Args:
        num_classes, in_chans, img_size, replicas: what every model takes; ``None`` values are dropped so a CLI
            default never overrides a model's own default.

    Example:
        >>> create_model("lenet_bn", num_classes=10, in_chans=1, replicas=5)
        >>> create_model("timm-gn:resnet18", num_classes=10, replicas=5)
    """
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    prefix, _, timm_name = name.partition(":")
    if prefix in ("timm", "timm-gn") and timm_name:
        from training.models.timm_wrapper import create_timm_model
        if prefix == "timm-gn":
            kwargs.setdefault("norm", "groupnorm")
        return create_timm_model(timm_name, **kwargs)
    if name not in _model_entrypoints:
        raise ValueError(f"Unknown model {name!r}; registered models: {', '.join(list_models())}; "
                         "or 'timm:<name>' / 'timm-gn:<name>' for a timm model")
    return _model_entrypoints[name](**kwargs)
