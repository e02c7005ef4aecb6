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
    """``create_model("lenet_bn", num_classes=10, in_chans=1, replicas=5)``. ``None`` kwargs are dropped so a
    CLI default never overrides a model's own default."""
    if name not in _model_entrypoints:
        raise ValueError(f"Unknown model {name!r}; registered models: {', '.join(list_models())}")
    return _model_entrypoints[name](**{k: v for k, v in kwargs.items() if v is not None})
