"""Models by name: ``@register_model`` adds one, ``create_model(name, **kwargs)`` builds it (timm's pattern)."""
from __future__ import annotations

from collections.abc import Callable

from training.registry import Registry

MODELS = Registry("model")
PREFIXES: dict[str, Callable] = {}   # "timm" -> builder(name, **kwargs): model families named "<prefix>:<name>"


def register_model(fn: Callable) -> Callable:
    """Function decorator: ``fn(num_classes=, in_chans=, img_size=, replicas=, ...)`` becomes model ``fn.__name__``."""
    return MODELS.register(fn)


def register_model_prefix(prefix: str):
    """Function decorator: ``fn(name, **kwargs)`` builds every model named ``"<prefix>:<name>"`` (timm_wrapper
    registers ``timm`` and ``timm-gn``), so that this module never imports a model family."""
    def wrap(fn: Callable) -> Callable:
        PREFIXES[prefix] = fn
        return fn
    return wrap


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
    prefix, _, family_name = name.partition(":")
    if prefix in PREFIXES and family_name:
        return PREFIXES[prefix](family_name, **kwargs)
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; models: {', '.join(list_models())}; "
                         "or 'timm:<name>' / 'timm-gn:<name>' for a timm model")
    return MODELS[name](**kwargs)
