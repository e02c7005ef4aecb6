"""Models by name: ``@register_model`` adds one, ``create_model(name, **kwargs)`` builds it (timm's pattern)."""
from __future__ import annotations

from collections.abc import Callable

from training.registry import Registry

MODELS = Registry("model")


def register_model(fn: Callable) -> Callable:
    """Function decorator: ``fn(num_classes=, in_chans=, img_size=, replicas=, ...)`` becomes model ``fn.__name__``."""
    return MODELS.register(fn)


def list_models(pattern: str = "*") -> list[str]:
    return MODELS.names(pattern)


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
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; models: {', '.join(list_models())}; "
                         "or 'timm:<name>' / 'timm-gn:<name>' for a timm model")
    return MODELS[name](**kwargs)
