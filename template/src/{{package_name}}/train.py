"""The training loop: one loop, read top to bottom.

Run: `python -m <package> train`; `--help` lists the options (`--config FILE`,
`--set section.field=value`, ...). A run writes runs/<run-name>/: config.toml (resolved),
metrics.csv, curves.png, checkpoints/{last,best}.pt and summary.json. Under torchrun the
same loop runs in every process (see distributed.py); process 0 writes.

The loop names no technique. It calls the between-step techniques (the list that
techniques.py builds from the config) at three points: epoch start, after each optimizer
step, epoch end (lifecycle.py). The techniques that change how a step runs
are explicit wrappers you can see below, plain when off: `augment` (each training batch),
`amp` (autocast, loss scaling, memory format), `forward` (DDP and torch.compile) and the
frozen first layers (`techniques.frozen_layers`, set up before the loop). The learning
rate has one owner, `loop.schedule`, and is set in one line.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from . import checkpoint, checks, data, distributed, files, plots, stream, task, techniques
from .config import Config, ConfigError
from .errors import DataError
from .lifecycle import FullPrecision, Loop, NoAugment, Technique
from .metrics import MetricSums, evaluate
from .runs import load_weights, make_model, new_run_dir, resolve_device
from .schedule import Schedule, set_rate


def trainable(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters to train, in an order that pruning does not change (pruning renames
    `weight` to `weight_orig` and moves it last), so saved optimizer states always fit."""
    named = sorted(model.named_parameters(), key=lambda item: item[0].removesuffix("_orig"))
    return [p for _, p in named if p.requires_grad]


def make_optimizer(model: torch.nn.Module, cfg: Config) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(
            trainable(model), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay
        )
    kind = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    return kind(trainable(model), lr=o.lr, weight_decay=o.weight_decay)


def run(
    cfg: Config,
    resume: Path | None = None,
    model: torch.nn.Module | None = None,
    extra: Sequence[Technique] = (),
) -> dict[str, Any]:
    """Train as `cfg` says and return the summary.

    resume: continue that run folder from its last checkpoint.
    model: train this model instead of building one (a pruned model keeps its masks).
    extra: techniques to call after the configured ones (e.g. the profiler's).
    """
    s = start(cfg, resume, model, extra)  # everything the loop needs; restored on a resume
    if resume is not None and s.epoch >= cfg.train.epochs:
        return finished(s)  # nothing left to train: the run's summary stays as it was
    loop, chosen, amp, augment = s.loop, s.techniques, s.amp, s.augment
    (x_train, y_train), bs, per_step = s.splits.train, s.batch, s.batch * cfg.train.accumulate
    batches = stream.Batches(x_train, y_train, cfg.data, cfg.train.seed)  # memory or stream
    forward = distributed.wrap(loop.model, s.device)  # the training forward pass (DDP)
    forward = techniques.compiled(forward, cfg, x_train[:bs])
    monitor = s.monitor  # the metric that picks the best checkpoint
    bar = tqdm(
        total=(cfg.train.epochs - s.epoch) * loop.steps,
        unit="batch",
        disable=not (cfg.train.progress and loop.group.main),
        dynamic_ncols=True,
    )
    started, rate = time.perf_counter(), cfg.optim.lr
    for epoch in range(s.epoch + 1, cfg.train.epochs + 1):
        epoch_start = time.perf_counter()
        for technique in chosen:
            technique.start_epoch(loop, epoch)
        loop.model.train()
        sums = MetricSums()  # a fresh accumulator is the per-epoch counter reset
        order = distributed.order(len(x_train), cfg.train.seed, epoch, loop.group)
        bar.set_description(f"epoch {epoch}/{cfg.train.epochs}")
        for step, (xs, ys) in enumerate(batches.epoch(order, per_step)):  # the step's samples
            rate = loop.schedule.rate(epoch, step)
            set_rate(loop.optimizer, rate)  # the one place where the learning rate is set

            # forward and backward, per micro-batch when accumulating; then one update
            loop.optimizer.zero_grad(set_to_none=True)
            for start_at in range(0, len(xs), bs):
                micro = slice(start_at, start_at + bs)
                xb, yb = augment(xs[micro], ys[micro])
                with amp.autocast(), distributed.no_sync(forward, start_at + bs < len(xs)):
                    output = forward(amp.prepare_input(xb))
                    loss = task.loss_fn(output, yb)
                if cfg.train.nan_guard and not torch.isfinite(loss):
                    raise checks.nonfinite_error(loop.model, xb, epoch, step)
                amp.backward(loss * (len(yb) / len(ys)))  # its share of the step's samples
                sums.add(task.batch_sums(output.float(), yb, loss), len(yb))
            amp.step(loop.optimizer, loop.params, cfg.train.grad_clip)
            for technique in chosen:
                technique.after_step(loop, epoch, step)
            bar.update()

        # epoch metrics: exact per-sample means, then eval passes on held-out data
        row = {"epoch": epoch, **sums.means("train_"), **held_out(loop, s.splits, cfg), "lr": rate}
        row["seconds"] = time.perf_counter() - epoch_start
        for technique in chosen:
            technique.end_epoch(loop, epoch, row)
        s.history.append(row)

        # logging and checkpoints: process 0 writes them
        improved = is_better(row[monitor], s.best)
        s.best = row[monitor] if improved else s.best
        if loop.group.main:
            log(row, s.history, loop.run_dir, bar, cfg.train.progress, monitor)
            save(s, epoch, improved)

        # termination: a technique asked to stop, or the capacity check reached its target
        if loop.stop or reached(cfg, row):
            break
    bar.close()
    return finish(s, time.perf_counter() - started)


@dataclass
class Started:
    """What `start` prepares for the loop."""

    cfg: Config
    loop: Loop
    techniques: list[Technique]
    amp: FullPrecision
    augment: NoAugment
    splits: data.Splits
    device: torch.device
    batch: int  # samples per forward pass and process (a micro-batch when accumulating)
    monitor: str  # valid_<metric>, or train_<metric> without a valid split
    epoch: int  # the last epoch done (0 for a new run)
    history: list[dict[str, float]]
    best: float | None


def start(
    cfg: Config, resume: Path | None, model: torch.nn.Module | None, extra: Sequence[Technique]
) -> Started:
    """Seed, processes, data on the device, model, optimizer, schedule, techniques; on a
    resume, every state restored from the run's last checkpoint."""
    torch.manual_seed(cfg.train.seed)
    deterministic(cfg.train.deterministic)
    group, device = distributed.setup(resolve_device(cfg.train.device))  # torchrun: this rank's
    bs = cfg.train.batch_size // group.world
    if bs * group.world != cfg.train.batch_size:
        raise ConfigError(
            f"train.batch_size ({cfg.train.batch_size}) must divide evenly among "
            f"{group.world} processes."
        )
    splits = data.load(cfg.data, final=cfg.train.final).to(device)
    model = (model if model is not None else make_model(cfg, splits)).to(device)
    if cfg.train.sync_batchnorm and group.world > 1:
        if device.type != "cuda":
            raise ConfigError("train.sync_batchnorm needs GPUs (PyTorch's SyncBatchNorm).")
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    amp = techniques.precision(cfg, device)  # autocast dtype, gradient scaler, memory format
    model = amp.prepare_model(model)
    state: dict[str, Any] = {}
    if resume is not None:
        if Path(resume).is_file():
            raise DataError(f"--resume takes a run folder, and {resume} is a file.")
        path = checkpoint.find(resume)
        state = checkpoint.load(path, map_location=device)
        load_weights(model, state["model"], path)
        checkpoint.restore_masks(model, state["masks"])
        run_dir = Path(resume)
    else:
        run_dir = distributed.share(new_run_dir(cfg) if group.main else None)
    trained, whole, splits = techniques.frozen_layers(
        cfg, model, splits, run_dir, bool(state), group.main
    )
    per_step = bs * cfg.train.accumulate  # samples per optimizer step and process
    steps = -(-distributed.per_process(len(splits.train[0]), group) // per_step)  # ceil
    loop = Loop(
        cfg, trained, whole, make_optimizer(trained, cfg), trainable(trained),
        Schedule(cfg, steps), group, run_dir, steps,
    )  # fmt: skip
    monitor = f"valid_{task.METRIC}" if splits.valid is not None else f"train_{task.METRIC}"
    chosen = [*techniques.between_steps(cfg, monitor, splits), *extra]
    augment = techniques.augmentation(cfg, device)
    if state:
        for technique in chosen:  # before the optimizer: the switch may replace it
            technique.load_state_dict(state["techniques"].get(technique.name, {}), loop)
        loop.optimizer.load_state_dict(state["optimizer"])
        loop.schedule.load_state_dict(state.get("schedule", loop.schedule.state_dict()))
        amp.load_state_dict(state.get("precision", {}))
        augment.load_state_dict(state.get("augment", {}))
        torch.set_rng_state(state["rng"])
    if group.main:
        cfg.save(run_dir / "config.toml")
    history, best = state.get("history", []), state.get("best")
    done = state.get("epoch", 0)
    return Started(
        cfg, loop, chosen, amp, augment, splits, device, bs, monitor, done, history, best
    )


def deterministic(on: bool) -> None:
    """Deterministic algorithms everywhere (`train.deterministic`), or PyTorch's fast defaults.

    On CPUs this run's results are already repeatable; on GPUs some kernels (atomic adds in
    backward passes, cuDNN's algorithm search) are not, and these switches trade speed
    for identical runs."""
    if on or torch.are_deterministic_algorithms_enabled():  # off when already off: no call,
        torch.use_deterministic_algorithms(on)  # which imports torch._inductor (2 s on a CPU)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = not on
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it


def finished(s: Started) -> dict[str, Any]:
    """The summary of a run resumed after its last epoch, as written when it finished."""
    path = s.loop.run_dir / "summary.json"
    if s.loop.group.main:
        print(f"{s.loop.run_dir} finished all {s.epoch} epochs; raise --epochs to go on.")
    if path.is_file():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    return finish(s, 0.0)  # a run stopped between its last checkpoint and its summary


def held_out(loop: Loop, splits: data.Splits, cfg: Config) -> dict[str, float]:
    """Eval-mode metrics of the training set (`train.eval_train`) and the valid split."""
    row: dict[str, float] = {}
    bs = cfg.train.batch_size
    if cfg.train.eval_train:
        row.update(_prefixed("train_eval_", evaluate(loop.model, *splits.train, bs)))
    if splits.valid is not None:
        row.update(_prefixed("valid_", evaluate(loop.model, *splits.valid, bs)))
    return row


def is_better(value: float, best: float | None) -> bool:
    if best is None:
        return True
    return value > best if task.HIGHER_IS_BETTER else value < best


def reached(cfg: Config, row: dict[str, float]) -> bool:
    """Whether the capacity check (`train.stop_at`) reached its target on the training set."""
    target = row.get(f"train_eval_{task.METRIC}")
    return (
        bool(cfg.train.stop_at) and target is not None and not is_better(cfg.train.stop_at, target)
    )


def log(
    row: dict[str, float],
    history: list[dict[str, float]],
    run_dir: Path,
    bar: tqdm,
    progress: bool,
    monitor: str,
) -> None:
    """metrics.csv rewritten from the whole history (a resumed run never duplicates rows),
    and the progress bar's figures, or one printed line per epoch without a bar."""
    with files.atomic(run_dir / "metrics.csv", "w") as f:
        columns = list(dict.fromkeys(key for row in history for key in row))  # a column may
        writer = csv.DictWriter(f, fieldnames=columns, restval="")  # start later (averages)
        writer.writeheader()
        writer.writerows(history)
    bar.set_postfix({k: f"{row[k]:.4f}" for k in ("train_loss", monitor) if k in row})
    if not progress:
        print(" ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)


def save(s: Started, epoch: int, improved: bool) -> None:
    """best.pt when the monitored metric improved, then last.pt: a resume starts from
    last.pt, so everything it implies (snapshots, best.pt) is on disk before it."""
    loop = s.loop
    weights, masks = checkpoint.model_state(loop.whole)
    state = {
        "model": weights,
        "masks": masks,
        "optimizer": loop.optimizer.state_dict(),
        "epoch": epoch,
        "history": s.history,
        "best": s.best,
        "config": s.cfg.to_dict(),
        "rng": torch.get_rng_state(),
        "schedule": loop.schedule.state_dict(),
        "techniques": {t.name: t.state_dict() for t in s.techniques},
        "precision": s.amp.state_dict(),
        "augment": s.augment.state_dict(),
    }
    folder = loop.run_dir / "checkpoints"
    if improved:
        checkpoint.save(state, folder / "best.pt")
    if s.cfg.checkpoint.keep_best > 1:  # top-<epoch>.pt of the k best epochs
        ranked = checkpoint.rank(s.history, s.monitor, task.HIGHER_IS_BETTER)
        checkpoint.keep_top(state, folder, ranked[: s.cfg.checkpoint.keep_best])
    checkpoint.save(state, folder / "last.pt")


def finish(s: Started, seconds: float) -> dict[str, Any]:
    """The summary (every process computes it; process 0 writes it with the pictures)."""
    loop, history = s.loop, s.history
    summary = _summary(s.cfg, loop.model, s.splits, history, seconds, s.device, loop.run_dir)
    summary["processes"] = loop.group.world
    summary["precision"] = s.amp.name
    if loop.stop:
        summary["stopped"] = loop.stop
    for technique in s.techniques:
        if (reported := technique.summary(history)) is not None:
            summary[technique.name] = reported
    if loop.group.main:
        plots.curves(history, task.METRIC, loop.run_dir / "curves.png")
        shown = s.splits.valid if s.splits.valid is not None else s.splits.test
        task.plot_predictions(loop.model, *shown, loop.run_dir / "samples.png")
        files.write_json(summary, loop.run_dir / "summary.json")
    return summary


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {prefix + k: v for k, v in metrics.items()}


def _summary(
    cfg: Config,
    model: torch.nn.Module,
    splits: data.Splits,
    history: list[dict[str, float]],
    seconds: float,
    device: torch.device,
    run_dir: Path,
) -> dict[str, Any]:
    """Final metrics and how they were obtained."""
    last = history[-1]
    summary: dict[str, Any] = {"run_dir": str(run_dir), "epochs": int(last["epoch"])}
    summary.update({k: v for k, v in last.items() if k not in ("epoch", "seconds")})
    if splits.valid is not None:
        summary.update(_prefixed("valid_", task.reference_metrics(*splits.valid)))
        values = [row[f"valid_{task.METRIC}"] for row in history]
        best = max(values) if task.HIGHER_IS_BETTER else min(values)
        summary[f"best_valid_{task.METRIC}"] = best
        summary["best_epoch"] = int(history[values.index(best)]["epoch"])
    if cfg.train.final:
        summary.update(_prefixed("test_", evaluate(model, *splits.test, cfg.train.batch_size)))
        summary.update(_prefixed("test_", task.reference_metrics(*splits.test)))
    samples = len(splits.train[0]) * len(history)
    summary.update(
        {
            "seconds": seconds,
            "samples_per_second": samples / max(sum(r["seconds"] for r in history), 1e-9),
            "parameters": sum(p.numel() for p in model.parameters()),
            "device": str(device),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
    )
    return summary
