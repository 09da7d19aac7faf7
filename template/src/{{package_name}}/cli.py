"""Command line: `python -m <package> {data,train,evaluate,overfit} --help`.

Every option maps onto one config field; `--set section.field=value` reaches any field,
`--config FILE` applies a TOML file (later ones win, then the flags, then `--set`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from . import checks, config, data, dataset, task, train
from .metrics import evaluate
from .model import ModelConfig

# flag -> (config key, help). Model flags are added from ModelConfig's fields.
COMMON = {
    "epochs": ("train.epochs", "number of epochs"),
    "batch-size": ("train.batch_size", "samples per batch"),
    "lr": ("optim.lr", "learning rate"),
    "optimizer": ("optim.name", "adam, adamw or sgd"),
    "seed": ("train.seed", "random seed (weights and batch order)"),
    "device": ("train.device", "auto, cpu, cuda, cuda:1, mps ..."),
    "subset": ("data.subset", "train on this many samples (0: all)"),
    "valid-fraction": ("data.valid_fraction", "share of the non-test data held out for validation"),
    "data-source": ("data.source", "your own data: a .npz file or a folder of images"),
    "run-name": ("train.run_name", "folder name under the runs folder (default: a timestamp)"),
    "runs-dir": ("train.runs_dir", "where run folders go (default: runs)"),
}


def _add_config_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("config")
    g.add_argument(
        "--config",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="TOML config file (repeatable; see configs/default.toml)",
    )
    g.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="set any config field, e.g. --set optim.lr=3e-4 (repeatable)",
    )
    for flag, (key, text) in COMMON.items():
        g.add_argument(f"--{flag}", dest=f"opt:{key}", metavar="V", help=text)
    g.add_argument(
        "--final",
        dest="opt:train.final",
        action="store_const",
        const="true",
        help="train on train+valid and report the held-out test set",
    )
    g.add_argument(
        "--no-progress",
        dest="opt:train.progress",
        action="store_const",
        const="false",
        help="print one line per epoch instead of a progress bar",
    )
    m = p.add_argument_group("model")
    for f in dataclasses.fields(ModelConfig):
        kind = typing.get_type_hints(ModelConfig)[f.name]
        flag, dest = "--" + f.name.replace("_", "-"), f"opt:model.{f.name}"
        if kind is bool:
            m.add_argument(
                flag,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                help=f"model.{f.name} (default {f.default})",
            )
        else:
            choices = typing.get_args(kind) if typing.get_origin(kind) is Literal else None
            m.add_argument(
                flag,
                dest=dest,
                choices=choices,
                metavar="V" if not choices else None,
                help=f"model.{f.name} (default {f.default})",
            )


def _overrides(args: argparse.Namespace) -> list[str]:
    """Flag values as `key=value` strings, then the explicit --set ones."""
    flags = []
    for dest, value in vars(args).items():
        if dest.startswith("opt:") and value is not None:
            value = str(value).lower() if isinstance(value, bool) else value
            flags.append(f"{dest[4:]}={value}")
    return flags + list(args.overrides)


def build_config(args: argparse.Namespace, base: dict[str, Any] | None = None) -> config.Config:
    cfg = config.from_dict(base) if base else config.Config()
    for path in args.config:
        config.load_file(cfg, path)
    config.apply_overrides(cfg, _overrides(args))
    return config.validate(cfg)


def cmd_data(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    splits = data.load(cfg.data)
    summary = data.summarize(splits)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    x, y = splits.train
    dataset.plot_samples(x[:32].numpy(), y[:32].numpy(), splits.classes, out / "samples.png")
    print(json.dumps(summary, indent=2))
    print(f"Wrote {out / 'summary.json'} and {out / 'samples.png'}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    base = None
    if args.resume:
        base = train.load_run(args.resume, "last")[0].to_dict()
    summary = train.run(build_config(args, base), resume=args.resume)
    print(json.dumps({k: v for k, v in summary.items() if isinstance(v, float | int)}, indent=2))
    print(f"Run folder: {summary['run_dir']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    cfg, state = train.load_run(args.run, args.checkpoint)
    split = args.split or ("test" if cfg.train.final else "valid")
    splits = data.load(cfg.data, final=cfg.train.final)
    pair = getattr(splits, split)
    if pair is None:
        raise data.DataError(f"The run trained in final mode: it has no {split!r} split.")
    model = train.make_model(cfg, splits)
    model.load_state_dict(state["model"])
    metrics = {**evaluate(model, *pair, cfg.train.batch_size), **task.reference_metrics(*pair)}
    print(json.dumps({"split": split, "epoch": state["epoch"], **metrics}, indent=2))
    return 0


def cmd_overfit(args: argparse.Namespace) -> int:
    cfg = checks.overfit_config(build_config(args), args.size, args.max_epochs)
    ok, message = checks.overfit_verdict(train.run(cfg), cfg.train.stop_at)
    print(message)
    return 0 if ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"python -m {__package__}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser("data", help="summarise the data and save a picture of samples")
    d.add_argument("--out", default="runs/data", help="folder for summary.json and samples.png")
    t = sub.add_parser("train", help="train a model; writes runs/<run-name>/")
    t.add_argument("--resume", type=Path, metavar="RUN", help="continue the run folder RUN")
    e = sub.add_parser("evaluate", help="metrics of a saved run's checkpoint")
    e.add_argument("run", type=Path, metavar="RUN", help="run folder, e.g. runs/20260101-120000")
    e.add_argument(
        "--split",
        choices=["train", "valid", "test"],
        help="default: valid, or test for a final-mode run",
    )
    e.add_argument("--checkpoint", choices=["best", "last"], default="best")
    goal = f"capacity check: reach {task.OVERFIT_GOAL} on a small subset".replace("%", "%%")
    o = sub.add_parser("overfit", help=goal)
    o.add_argument("--size", type=int, default=256, help="subset size (default 256)")
    o.add_argument("--max-epochs", type=int, default=200, help="give up after this many epochs")
    for command in (d, t, o):
        _add_config_options(command)
    for command, func in ((d, cmd_data), (t, cmd_train), (e, cmd_evaluate), (o, cmd_overfit)):
        command.set_defaults(func=func)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (config.ConfigError, data.DataError, FileNotFoundError, checks.NonFiniteError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, config.ConfigError) else 1
    except KeyboardInterrupt:
        print(
            "Interrupted; the last checkpoint is intact (resume with train --resume RUN).",
            file=sys.stderr,
        )
        return 130
