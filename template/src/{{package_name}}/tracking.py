"""Experiment tracking: each run logged to MLflow or Weights & Biases (`[track] backend`).

    python -m <package> train --set track.backend=mlflow     # then: mlflow ui
    python -m <package> train --set track.backend=wandb      # offline; later: wandb sync

The run's flattened config goes in as params at its first epoch, each epoch's metrics row
with the epoch as the step, and at the end metrics.csv, config.toml and the curves as
artifacts. Only process 0 logs (under torchrun too). The tracked run's id is kept in the
checkpoint, so `train --resume` continues the same tracked run. A sweep's trials carry
the study's name (`track.group`: an MLflow tag, a W&B group). The packages are optional:
`pip install -e '.[mlflow]'` or `'.[wandb]'`.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from . import plots, task
from .config import Config, TrackConfig
from .errors import ConfigError
from .lifecycle import Loop, Technique


class Tracker(Technique):
    """Logs the run to the configured backend (process 0 only)."""

    name = "track"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.run_id = ""  # the tracked run, kept in checkpoints for resumes
        self.backend: MLflow | Wandb | None = None
        self.run_dir: Path | None = None

    def start_epoch(self, loop: Loop, epoch: int) -> None:
        if self.backend is not None or not loop.group.main or self.cfg.track.backend == "none":
            return
        kind = MLflow if self.cfg.track.backend == "mlflow" else Wandb
        resumed = bool(self.run_id)
        self.backend = kind(self.cfg.track, loop.run_dir, self.run_id)
        self.run_id, self.run_dir = self.backend.run_id, loop.run_dir
        if not resumed:
            self.backend.params(flatten(self.cfg.to_dict()))

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        if self.backend is not None:
            self.backend.metrics({k: v for k, v in row.items() if k != "epoch"}, epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id}

    def load_state_dict(self, state: dict[str, Any], loop: Loop) -> None:
        self.run_id = str(state.get("run_id", ""))

    def summary(self, history: list[dict[str, float]]) -> Any:
        if self.backend is None or self.run_dir is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:  # train draws its curves.png after this
            curves = Path(tmp) / "curves.png"
            plots.curves(history, task.METRIC, curves)
            found = [self.run_dir / "metrics.csv", self.run_dir / "config.toml"]
            self.backend.artifacts([p for p in found if p.is_file()] + [curves])
        self.backend.end()
        return {"backend": self.cfg.track.backend, "run_id": self.run_id}


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"optim": {"lr": 0.001}} -> {"optim.lr": 0.001}."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def need(module: str, extra: str) -> ModuleType:
    """The optional package, or one sentence naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise ConfigError(
            f"track.backend = {extra!r} needs the {extra} package: pip install -e '.[{extra}]'."
        ) from None


class MLflow:
    """A run in an MLflow tracking store: `track.uri`, or MLflow's own default."""

    def __init__(self, track: TrackConfig, run_dir: Path, run_id: str) -> None:
        tracking = need("mlflow.tracking", "mlflow")
        self.entities = need("mlflow.entities", "mlflow")
        self.client = tracking.MlflowClient(tracking_uri=track.uri or None)
        if run_id:  # a resumed run continues its tracked run
            self.run_id = run_id
            self.client.update_run(run_id, status="RUNNING")
            return
        name = track.experiment or Path.cwd().name
        found = self.client.get_experiment_by_name(name)
        experiment = found.experiment_id if found else self.client.create_experiment(name)
        tags = {"group": track.group} if track.group else {}
        run = self.client.create_run(experiment, run_name=run_dir.name, tags=tags)
        self.run_id = run.info.run_id

    def params(self, flat: dict[str, Any]) -> None:
        items = [self.entities.Param(k, str(v)) for k, v in flat.items()]
        for start in range(0, len(items), 100):  # MLflow takes 100 params per batch
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def metrics(self, row: dict[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        items = [self.entities.Metric(k, float(v), now, step) for k, v in row.items()]
        self.client.log_batch(self.run_id, metrics=items)

    def artifacts(self, paths: list[Path]) -> None:
        for path in paths:
            self.client.log_artifact(self.run_id, str(path))

    def end(self) -> None:
        self.client.set_terminated(self.run_id)


class Wandb:
    """A Weights & Biases run in `track.mode` (offline by default: `wandb sync` uploads)."""

    def __init__(self, track: TrackConfig, run_dir: Path, run_id: str) -> None:
        wandb = need("wandb", "wandb")
        self.run = wandb.init(
            project=track.experiment or Path.cwd().name,
            name=run_dir.name,
            group=track.group or None,
            dir=str(run_dir),
            mode=track.mode,
            id=run_id or None,
            resume="allow" if run_id else None,
            reinit="create_new",
        )
        self.run_id = str(self.run.id)

    def params(self, flat: dict[str, Any]) -> None:
        self.run.config.update(flat, allow_val_change=True)

    def metrics(self, row: dict[str, float], step: int) -> None:
        self.run.log(row, step=step)

    def artifacts(self, paths: list[Path]) -> None:
        for path in paths:
            self.run.save(str(path), base_path=str(path.parent), policy="now")

    def end(self) -> None:
        self.run.finish()
