"""Setting typed config fields from text: `--set section.field=value`, TOML tables.

The machinery behind `config.build`, for any tree of dataclasses: a dotted key is looked
up (with a "did you mean" for typos), its value checked against the field's annotation
(bool, int, float, str or a Literal of choices) and set. Strings from the command line
are parsed; values from TOML must already have the right type.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from typing import Any, Literal

from .errors import ConfigError


def sections(cfg: Any) -> dict[str, Any]:
    """The section objects of a config dataclass, by name."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}


def coerce(key: str, value: Any, kind: Any) -> Any:
    """`value` checked against the annotated type `kind`; strings are parsed."""
    choices = typing.get_args(kind) if typing.get_origin(kind) is Literal else None
    base = str if choices else kind
    if isinstance(value, str) and base is not str:
        text = value.strip().lower()
        try:
            if base is bool:
                if text not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = text in ("true", "1", "yes")
            elif base is int:
                value = int(text)
            elif base is float:
                value = float(text)
        except ValueError:
            raise ConfigError(f"{key} expects {base.__name__}, got {value!r}.") from None
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, base) or (base is int and isinstance(value, bool)):
        raise ConfigError(f"{key} expects {base.__name__}, got {value!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number; got {value!r}.")
    if choices and value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def lookup(cfg: Any, key: str) -> tuple[Any, str, Any]:
    """(section object, field name, field type) of a dotted key, or ConfigError."""
    found = sections(cfg)
    name, _, attr = key.partition(".")
    if name not in found or not attr:
        hint = difflib.get_close_matches(name, found, n=1)
        raise ConfigError(
            f"Unknown config key {key!r}: keys look like section.field, sections are "
            f"{', '.join(found)}" + (f" (did you mean {hint[0]!r}?)." if hint else ".")
        )
    types = typing.get_type_hints(type(found[name]))
    if attr not in types:
        hint = difflib.get_close_matches(attr, types, n=1)
        known = (
            f"; did you mean '{name}.{hint[0]}'?" if hint else f"; [{name}] has {', '.join(types)}."
        )
        raise ConfigError(f"Unknown config key {key!r}{known}")
    return found[name], attr, types[attr]


def set_value(cfg: Any, key: str, value: Any) -> None:
    """Set one dotted key (`optim.lr`) to a checked value."""
    section, attr, kind = lookup(cfg, key)
    setattr(section, attr, coerce(key, value, kind))


def apply_overrides(cfg: Any, overrides: list[str]) -> None:
    """Apply `section.field=value` strings in order."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"Override {item!r} must look like section.field=value.")
        set_value(cfg, key.strip(), value.strip())


def apply_mapping(cfg: Any, data: dict[str, Any], origin: str = "config") -> None:
    """Apply a nested mapping such as a parsed TOML file."""
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: {name!r} must be a [section] table.")
        for attr, value in table.items():
            set_value(cfg, f"{name}.{attr}", value)
