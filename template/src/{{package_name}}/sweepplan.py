"""What a sweep runs: `--grid`, `--search` and `--seeds` parsed into a plan of plain data
(stored in the study, where every worker reads it), and the plan's Optuna distributions."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from . import config
from .errors import ConfigError
from .overrides import coerce, lookup


def parse_grid(items: list[str], cfg: config.Config) -> dict[str, list[Any]]:
    """`key=v1,v2` -> {key: [typed values]}."""
    grid = {}
    for item in items:
        key, values = _key_value("--grid", item, cfg)
        grid[key] = [coerce(key, v.strip(), lookup(cfg, key)[2]) for v in values.split(",")]
        if len(set(grid[key])) < len(grid[key]):
            raise ConfigError(f"--grid {item}: a value is listed twice.")
    return grid


def parse_search(items: list[str], cfg: config.Config) -> dict[str, list[Any]]:
    """`key=log:lo:hi`, `key=lo:hi` or `key=a,b,c` -> {key: [kind, ...]}."""
    space: dict[str, list[Any]] = {}
    for item in items:
        key, spec = _key_value("--search", item, cfg)
        kind = lookup(cfg, key)[2]
        if "," in spec or ":" not in spec:
            space[key] = ["choice", *(coerce(key, v.strip(), kind) for v in spec.split(","))]
            continue
        log = spec.startswith("log:")
        bounds = spec.removeprefix("log:").split(":")
        if len(bounds) != 2 or kind not in (int, float):
            raise ConfigError(
                f"--search {item}: use key=log:low:high or key=low:high for a number, "
                "key=a,b,c for choices."
            )
        low, high = (coerce(key, b.strip(), kind) for b in bounds)
        if not low < high:
            raise ConfigError(f"--search {item}: the low bound must be below the high one.")
        if log and low <= 0:
            raise ConfigError(f"--search {item}: log: needs positive bounds.")
        space[key] = ["log" if log else "range", low, high]
    return space


def _key_value(flag: str, item: str, cfg: config.Config) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not value.strip():
        raise ConfigError(f"{flag} {item!r} must look like section.field=...")
    lookup(cfg, key.strip())  # unknown keys: one sentence with a "did you mean"
    return key.strip(), value.strip()


def make_plan(args: argparse.Namespace) -> dict[str, Any]:
    """The sweep as plain data, stored in the study (workers read it from there)."""
    if args.seeds < 1 or args.trials < 1:
        raise ConfigError("--seeds and --trials must be at least 1.")
    if args.search and (args.grid or args.seeds > 1):
        raise ConfigError(
            "--search samples its own trials: run seeds and grids as a sweep of their own."
        )
    cfg = config.build([Path(p) for p in args.config], args.overrides)
    grid = parse_grid(args.grid, cfg)
    if args.seeds > 1:
        grid["train.seed"] = list(range(args.seeds))
    search = parse_search(args.search, cfg)
    cfg.train.progress = False  # workers share one terminal: one line per epoch
    plan = {"grid": grid, "search": search, "trials": args.trials if search else 0}
    if args.torchrun:
        if args.torchrun < 2:
            raise ConfigError("--torchrun N needs N >= 2 processes (1: leave it out).")
        plan["torchrun"] = args.torchrun
    return json.loads(json.dumps({**plan, "base": cfg.to_dict()}))  # as the storage keeps it


def distributions(plan: dict[str, Any]) -> dict[str, BaseDistribution]:
    found: dict[str, BaseDistribution] = {}
    for key, values in plan["grid"].items():
        found[key] = CategoricalDistribution(values)
    for key, (kind, *rest) in plan["search"].items():
        if kind == "choice":
            found[key] = CategoricalDistribution(rest)
        elif isinstance(rest[0], int):
            found[key] = IntDistribution(rest[0], rest[1], log=kind == "log")
        else:
            found[key] = FloatDistribution(rest[0], rest[1], log=kind == "log")
    return found


def default_name(args: argparse.Namespace) -> str:
    """A readable name from the arguments, with a short hash of --config/--set if given."""
    parts = [item.replace(",", "+").replace(":", "~") for item in [*args.grid, *args.search]]
    parts += [f"seeds{args.seeds}"] if args.seeds > 1 else []
    parts += [f"trials{args.trials}"] if args.search else []
    base = json.dumps([[str(p) for p in args.config], args.overrides])
    if args.config or args.overrides:
        parts.append(hashlib.sha1(base.encode()).hexdigest()[:6])
    return "_".join(parts) or "sweep"
