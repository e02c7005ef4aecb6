"""A stage's settings from text: `build --set stage.key=value` and the `[stage]` sections of a `build --config` TOML
file, each value typed from the settings dataclass's field (so a new field is settable without a new flag)."""
from __future__ import annotations

import datetime
import types
import typing
from dataclasses import MISSING, fields

from catalog.errors import UserError

TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def field_types(cls) -> dict[str, typing.Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _parts(tp) -> tuple[list, bool]:
    """The non-None members of ``tp`` and whether None is allowed."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = typing.get_args(tp)
        return [a for a in args if a is not type(None)], type(None) in args
    return [tp], False


def _convert(tp, raw: str):
    options, nullable = _parts(tp)
    if nullable and raw.strip().lower() in ("", "none", "null"):
        return None
    for t in options:
        origin = typing.get_origin(t)
        if origin is list:
            return [x.strip() for x in raw.split(",") if x.strip()]
        if t is bool:
            if raw.strip().lower() in TRUE | FALSE:
                return raw.strip().lower() in TRUE
            continue
        try:
            return t(raw)
        except (TypeError, ValueError):
            continue
    raise ValueError


def _check(tp, value):
    """A TOML value for a field of type ``tp``: the value (an int for a float field becomes a float)."""
    options, nullable = _parts(tp)
    if value is None and nullable:
        return None
    for t in options:
        origin = typing.get_origin(t)
        if origin is list and isinstance(value, list):
            return [str(v) for v in value]
        if origin is list and isinstance(value, str):
            return _convert(t, value)
        if t is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if t is str and isinstance(value, datetime.date | datetime.time):      # TOML's unquoted dates
            return value.isoformat()
        if isinstance(t, type) and isinstance(value, t) and not (t is int and isinstance(value, bool)):
            return value
    raise ValueError


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) if isinstance(tp, type) else str(tp).replace("typing.", "")


def keys_text(cls) -> str:
    """``key: type = default`` for every field, for help texts."""
    types_ = field_types(cls)
    out = []
    for f in fields(cls):
        default = f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else None)
        out.append(f"{f.name}: {_type_name(types_[f.name])}" + ("" if f.default is MISSING and
                                                               f.default_factory is MISSING else f" = {default!r}"))
    return "; ".join(out)


def typed_value(stage: str, cls, key: str, value, *, from_text: bool):
    """``value`` for ``cls``'s field ``key``: parsed from text (``--set``) or checked (TOML); one line on error."""
    types_ = field_types(cls)
    if key not in types_:
        raise UserError(f"{stage}.{key}: no such setting; {stage} settings are {', '.join(types_)}")
    try:
        return _convert(types_[key], value) if from_text else _check(types_[key], value)
    except ValueError:
        raise UserError(f"{stage}.{key}={value!r}: expected {_type_name(types_[key])}") from None


def parse_assignment(text: str) -> tuple[str, str, str]:
    """``"stage.key=value"`` → (stage, key, value)."""
    target, eq, value = text.partition("=")
    stage, dot, key = target.strip().partition(".")
    if not (eq and dot and stage and key):
        raise UserError(f"--set {text!r}: expected STAGE.KEY=VALUE, e.g. --set export.level=country")
    return stage, key.strip(), value


def build_settings(stage: str, cls, values: dict):
    """``cls(**values)``; a missing required field or a value the dataclass refuses is one line."""
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
               and f.name not in values]
    if missing:
        raise UserError(f"{stage}: settings {', '.join(missing)} have no default; set them with --set "
                        f"{stage}.{missing[0]}=VALUE or in the [{stage}] section of --config")
    return cls(**values)


def read_config_file(path: str, sections: list[str], top_keys: tuple[str, ...]) -> tuple[dict, dict[str, dict]]:
    """A `build --config` TOML file: (its top-level keys, its ``[stage]`` tables); anything else is one line."""
    import tomllib
    from pathlib import Path

    try:
        doc = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"--config {path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"--config {path}: {e}") from None
    top = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    for k in top:
        if k not in top_keys:
            raise UserError(f"--config {path}: unknown key {k!r}; top-level keys are {', '.join(top_keys)} and the "
                            f"stage sections [{'], ['.join(sections)}]")
    for k in tables:
        if k not in sections:
            raise UserError(f"--config {path}: unknown section [{k}]; sections are the stages: {', '.join(sections)}")
    return top, tables
