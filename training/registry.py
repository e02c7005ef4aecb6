"""One registry style for models, algorithms, partitioners and datasets (timm's): a decorator registers, a
``create_*`` builds, a ``list_*`` names what exists."""
from __future__ import annotations

import fnmatch
import inspect
import warnings


class Registry(dict):
    """Names → entries of one kind. An entry is registered under its ``name`` attribute (classes, dataset entries)
    or its ``__name__`` (model functions); registering a name twice warns, and the later entry wins."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, entry):
        name = getattr(entry, "name", None) or entry.__name__
        if name in self:
            warnings.warn(f"{self.kind} {name!r} registered twice; the later definition wins", stacklevel=2)
        self[name] = entry
        return entry

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self if fnmatch.fnmatch(n, pattern))

    def lookup(self, name: str):
        if name not in self:
            plural = self.kind[:-1] + "ies" if self.kind.endswith("y") else self.kind + "s"
            raise ValueError(f"Unknown {self.kind} {name!r}; {plural}: {', '.join(self.names())}")
        return self[name]


def keyword_args(fn, leave_out: tuple[str, ...] = ()) -> list[str]:
    """The keyword arguments ``fn`` (a function or a class's constructor) takes, along its ``**kwargs`` chain up the
    class hierarchy: what a config section may set for a registered entry."""
    out, seen_var_kw = [], True
    classes = fn.__mro__ if inspect.isclass(fn) else (fn,)
    for c in classes:
        target = c.__dict__.get("__init__") if inspect.isclass(c) else c
        if target is None:
            continue
        if not seen_var_kw:
            break
        params = inspect.signature(target).parameters.values()
        seen_var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
        out += [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                and p.name not in ("self", *leave_out) and p.name not in out]
    return out
