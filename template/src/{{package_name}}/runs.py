"""Runs: the one way every command makes a run folder, opens a trained run, builds a model.

    run = open_run("runs/my-run")          # config, checkpoint, data, model with its weights
    metrics = evaluate(run.model, *run.pair(), run.cfg.train.batch_size)

Every command on a trained run (`evaluate`, `export`, `average`, ...) starts here, and
`train --resume` through `load_run`. A checkpoint that does not fit the model (another
baseline, a changed `model.width`) is refused in one sentence that says which run and
what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoint, data, stream, task
from .config import Config, defaults, from_dict, load_file
from .errors import ConfigError, DataError
from .layers import set_normalize
from .model import build_model


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA, then Apple's MPS, then the CPU; a named device must exist here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"train.device {name!r} is not a device: use auto, cpu, cuda, cuda:N or mps."
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"train.device {name!r}: this PyTorch build sees no CUDA GPU; use cpu or auto."
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"train.device {name!r}: there are {torch.cuda.device_count()} GPUs.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"train.device {name!r}: MPS is not available here; use cpu or auto.")
    return device


def make_model(cfg: Config, splits: data.Splits) -> nn.Module:
    """The configured baseline, its input normalisation set from the training split."""
    outputs = task.num_outputs(splits.classes, splits.in_shape)
    model = build_model(cfg.model, splits.in_shape, outputs)
    # the finite values of the training inputs (a Lazy's: up to 512 samples, a chunk at a
    # time): a NaN in the data must not spoil them all
    set_normalize(model, *stream.input_stats(splits.train[0]))
    return model


def load_weights(model: nn.Module, weights: dict[str, torch.Tensor], source: Path) -> None:
    """Load `weights` into `model`, or say in one sentence why they do not fit."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        detail = str(err).strip().splitlines()
        first = next((line.strip() for line in detail[1:] if line.strip()), detail[0])
        raise DataError(
            f"{source} holds weights of a different model ({first}); evaluate or resume it "
            "with the model settings it was trained with (its config.toml)."
        ) from None


def new_run_dir(cfg: Config) -> Path:
    """A new folder runs/<run_name> (or runs/<timestamp>), made atomically: when the name is
    taken, even by a run started a moment ago in another process, a suffix -2, -3 ... is
    added, so two runs never share a folder."""
    name = cfg.train.run_name or datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(cfg.train.runs_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as err:  # ValueError: a NUL character in the path
        raise ConfigError(f"Cannot make the runs folder {root}: {_why(err)}.") from None
    for n in range(1, 10_000):
        path = root / (name if n == 1 else f"{name}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except (OSError, ValueError) as err:
            raise ConfigError(f"Cannot make the run folder {path}: {_why(err)}.") from None
        return path
    raise ConfigError(f"{root} holds 9,999 runs named {name!r}; choose another train.run_name.")


def _why(err: Exception) -> str:
    return (err.strerror if isinstance(err, OSError) else None) or str(err)


def load_run(run: Path, which: str = "best") -> tuple[Config, dict[str, Any]]:
    """The config and checkpoint of a run folder (`which`.pt, falling back to last.pt), or
    of a checkpoint file given directly (e.g. the dense model that `prune` writes)."""
    run = Path(run)
    try:
        path = checkpoint.find(run, f"{which}.pt")
    except FileNotFoundError:
        path = checkpoint.find(run, "last.pt")
    state = checkpoint.load(path)
    if not isinstance(state.get("config"), dict) or "model" not in state:
        raise DataError(f"{path} is not a checkpoint of a training run.")
    try:
        return from_dict(state["config"]), state
    except ConfigError as err:  # another baseline's model keys, or another project's
        raise DataError(
            f"{path} was trained by another baseline or project ({str(err).rstrip('.')})."
        ) from None


def edited_config(run: Path, used: Config) -> str | None:
    """A warning when the run folder's config.toml (which the user may have edited) says
    other than `used`, the checkpoint's config that `train --resume` continues with."""
    path = Path(run) / "config.toml"
    if not path.is_file():
        return None
    saved_cfg = defaults()
    try:
        load_file(saved_cfg, path)
    except (ConfigError, OSError) as err:
        reason = str(err).rstrip(".")
        return f"warning: {path} is ignored ({reason}); the checkpoint's config is used."
    saved = _flat(saved_cfg.to_dict())
    wanted = _flat(used.to_dict())
    changed = sorted(k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k))
    if not changed:
        return None
    shown = ", ".join(f"{k} = {saved.get(k)!r}" for k in changed[:3])
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return (
        f"warning: {path} differs from the checkpoint ({shown}{more}); the checkpoint's "
        "config plus --set and the flags is used, and config.toml is rewritten with it."
    )


def _flat(tree: dict[str, Any]) -> dict[str, Any]:
    return {f"{name}.{k}": v for name, table in tree.items() for k, v in table.items()}


@dataclass
class OpenRun:
    """A trained run, ready to use: its config, checkpoint, data and model (eval mode)."""

    path: Path
    cfg: Config
    state: dict[str, Any]
    splits: data.Splits
    model: nn.Module
    device: torch.device

    @property
    def held_out(self) -> str:
        """The split a run is judged on: valid, or test for a final-mode run."""
        return "test" if self.cfg.train.final else "valid"

    def pair(self, split: str | None = None) -> data.Pair:
        """(x, y) of `split` (default: `held_out`) on the run's device."""
        split = split or self.held_out
        found = getattr(self.splits, split)
        if found is None:
            raise DataError(
                f"The run {self.path} trained in final mode: it has no {split!r} split."
            )
        return found


def open_run(run: Path, which: str = "best", device: torch.device | None = None) -> OpenRun:
    """Open the run folder `run`: config, checkpoint `which`, its data and its model."""
    cfg, state = load_run(run, which)
    device = device or resolve_device(cfg.train.device)
    splits = data.load(cfg.data, final=cfg.train.final).to(device)
    model = make_model(cfg, splits)
    load_weights(model, state["model"], Path(run))
    return OpenRun(Path(run), cfg, state, splits, model.to(device).eval(), device)
