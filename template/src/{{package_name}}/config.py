"""One typed config: dataclass defaults <- TOML files <- command-line overrides.

Every field is documented in configs/default.toml. Overrides are `section.field=value`
strings (`--set optim.lr=3e-4`); unknown keys and badly typed values raise ConfigError.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w

from .data import DataConfig
from .model import ModelConfig


class ConfigError(ValueError):
    """A config key or value the user gave is not valid."""


@dataclass
class OptimConfig:
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    final: bool = False
    grad_clip: float = 0.0
    nan_guard: bool = True
    stop_at: float = 0.0
    eval_train: bool = False
    runs_dir: str = "runs"
    run_name: str = ""
    progress: bool = True


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        path.write_text(tomli_w.dumps(self.to_dict()), encoding="utf-8")


# ---------------------------------------------------------------- parsing and checking


def _sections(cfg: Config) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}


def _field_types(section: Any) -> dict[str, Any]:
    return typing.get_type_hints(type(section))


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """Check `value` against the annotated type `kind`; strings from the command line are parsed."""
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
    if choices and value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def _lookup(cfg: Config, key: str) -> tuple[Any, str, Any]:
    """Return (section object, field name, field type) for a dotted key, or raise ConfigError."""
    sections = _sections(cfg)
    name, _, attr = key.partition(".")
    if name not in sections or not attr:
        hint = difflib.get_close_matches(name, sections, n=1)
        raise ConfigError(
            f"Unknown config key {key!r}: keys look like section.field, sections are "
            f"{', '.join(sections)}" + (f" (did you mean {hint[0]!r}?)." if hint else ".")
        )
    types = _field_types(sections[name])
    if attr not in types:
        hint = difflib.get_close_matches(attr, types, n=1)
        fields = ", ".join(types)
        known = f"; did you mean '{name}.{hint[0]}'?" if hint else f"; [{name}] has {fields}."
        raise ConfigError(f"Unknown config key {key!r}{known}")
    return sections[name], attr, types[attr]


def set_value(cfg: Config, key: str, value: Any) -> None:
    """Set one dotted key (`optim.lr`) to a checked value."""
    section, attr, kind = _lookup(cfg, key)
    setattr(section, attr, _coerce(key, value, kind))


def apply_overrides(cfg: Config, overrides: list[str]) -> None:
    """Apply `section.field=value` strings in order."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"Override {item!r} must look like section.field=value.")
        set_value(cfg, key.strip(), value.strip())


def apply_mapping(cfg: Config, data: dict[str, Any], origin: str = "config") -> None:
    """Apply a nested mapping such as a parsed TOML file."""
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: {name!r} must be a [section] table.")
        for attr, value in table.items():
            set_value(cfg, f"{name}.{attr}", value)


def load_file(cfg: Config, path: Path) -> None:
    """Apply a TOML config file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Config file {str(path)!r} does not exist.") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"Config file {str(path)!r} is not valid TOML: {err}.") from None
    apply_mapping(cfg, data, origin=str(path))


def validate(cfg: Config) -> Config:
    """Check ranges that types cannot express."""
    checks = [
        (cfg.train.epochs >= 1, "train.epochs must be at least 1."),
        (cfg.train.batch_size >= 1, "train.batch_size must be at least 1."),
        (cfg.optim.lr > 0, "optim.lr must be positive."),
        (cfg.optim.weight_decay >= 0, "optim.weight_decay must not be negative."),
        (cfg.train.grad_clip >= 0, "train.grad_clip must not be negative (0 turns it off)."),
    ]
    problems = [message for ok, message in checks if not ok]
    problems += cfg.data.problems() + cfg.model.problems()
    if problems:
        raise ConfigError(problems[0])
    return cfg


def build(files: Sequence[Path] = (), overrides: Sequence[str] = ()) -> Config:
    """Defaults, then each file, then each override; validated."""
    cfg = Config()
    for path in files:
        load_file(cfg, path)
    apply_overrides(cfg, list(overrides))
    return validate(cfg)


def from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a saved config (from a checkpoint or config.toml)."""
    cfg = Config()
    apply_mapping(cfg, data)
    return validate(cfg)
