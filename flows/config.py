"""Settings of one `build` run: where things live, which stages run, and each registered stage's settings object
(the same object its verb builds). Never holds the API key or secret. Each default lives once, in its stage's
settings dataclass; the stages and their classes come from the registry (flows/stages.py).

It stays a plain dataclass of plain values: Prefect validates it from ``asdict(cfg)`` (deployments pass that as the
flow's parameter), which turns each stage's settings into a dict; ``__post_init__`` types it back."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from catalog.db import DEFAULT_CATALOG, DEFAULT_HOME
from catalog.errors import UserError
from flows.stages import STAGES, in_order, stage_names


def stage_settings_object(name: str, value):
    """``value`` (a settings object, a dict of its fields, or None for the defaults) as stage ``name``'s settings."""
    from flows.stage_settings import build_settings, typed_value

    cls = STAGES[name].settings
    if isinstance(value, cls):
        return value
    if value is None:
        return build_settings(name, cls, {})
    if is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in fields(value)}
    if not isinstance(value, dict):
        raise UserError(f"settings of stage {name}: expected a table of {cls.__name__} fields, got {value!r}")
    return build_settings(name, cls, {k: typed_value(name, cls, k, v, from_text=False) for k, v in value.items()})


@dataclass
class BuildConfig:
    catalog: str = str(DEFAULT_CATALOG)
    home: str = str(DEFAULT_HOME)               # images, exports, runs go under here
    stages: list[str] = field(default_factory=stage_names)
    dask_address: str | None = None             # Dask scheduler for download/filter shards; None: threads here
    settings: dict[str, Any] = field(default_factory=dict)    # stage -> its settings; a stage left out: defaults

    def __post_init__(self):
        self.stages = in_order(self.stages)
        unknown = [n for n in self.settings if n not in STAGES]
        if unknown:
            raise UserError(f"settings for unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}")
        self.settings = {n: stage_settings_object(n, self.settings.get(n)) for n in STAGES}

    def __getattr__(self, name: str):
        """``cfg.<stage>``: that stage's settings object."""
        settings = self.__dict__.get("settings")
        if settings is not None and name in settings:
            return settings[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or stage {name!r}")
