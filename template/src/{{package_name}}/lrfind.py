"""The learning-rate range test: `python -m <package> lr-find [--start 1e-7] [--end 10]`.

Smith, "Cyclical Learning Rates for Training Neural Networks" (2017), section 3.3: train a
copy of a freshly built model (the configured baseline on the configured data; `--config`
and `--set` apply) for `--steps` optimizer steps while the learning rate rises
exponentially from `--start` to `--end`, and watch the loss. The training batches are
cycled (a new order each pass), so small data gives as many steps as asked. The loss is
smoothed exponentially (bias-corrected, as Adam's moments are), and the test stops early
once the smoothed loss exceeds DIVERGED times its minimum, or is not finite.

The suggested rate is the rate at the smoothed loss's minimum divided by 10 (fastai's
`lr_min / 10`; Smith's advice is to stay below where the loss turns up): robust on the
noisy curves of small data. The rate of steepest descent of the smoothed loss (against
the log rate, before the minimum) is reported beside it. Nothing goes into a run folder:
the picture goes to `--out` (default: lr_find.png in `train.runs_dir`, runs/), the curve
beside it (lr_find.json).
The steps run as training runs them (the precision wrapper, `task.loss_fn`, the configured
optimizer, gradient clipping); augmentation and the between-step techniques stay off.
"""

from __future__ import annotations

import argparse
import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import data, plots, task, techniques
from .config import Config
from .errors import ConfigError
from .files import atomic, write_json
from .runs import make_model, resolve_device
from .schedule import set_rate
from .train import make_optimizer, trainable

# Smoothing of the loss: about the last 10 steps count. fastai's 0.98 (about 50 steps) lags
# 2 decades of rate behind the raw loss at 200 steps over 8 decades; on the cnn baseline it
# suggested 0.027, where 0.9 suggests 0.0015 next to the proven 0.001.
BETA = 0.9
DIVERGED = 4.0  # stop once the smoothed loss exceeds this many times its minimum
RULE = "the rate at the minimum of the smoothed loss / 10"


@dataclass
class RangeTest:
    """The curve and what it suggests."""

    rates: list[float]
    losses: list[float]  # the raw loss of each step
    smoothed: list[float]  # bias-corrected exponential moving average of `losses`
    stopped: str  # why the test ended
    suggestion: float
    rule: str
    minimum_rate: float
    steepest_rate: float


def rates(start: float, end: float, steps: int) -> list[float]:
    """`steps` rates rising exponentially from `start` to `end` (both included)."""
    return [start * (end / start) ** (i / (steps - 1)) for i in range(steps)]


def suggest(rates: list[float], smoothed: list[float]) -> tuple[float, float, float]:
    """(suggested rate, rate at the minimum, rate of steepest descent) of a curve."""
    low = int(np.argmin(smoothed))
    steepest = rates[low]
    if low >= 2:  # the slope against log(rate) up to the minimum; the most negative wins
        slopes = np.gradient(np.array(smoothed[: low + 1]), np.log(rates[: low + 1]))
        steepest = rates[int(np.argmin(slopes))]
    return rates[low] / 10, rates[low], steepest


def find(
    cfg: Config,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 200,
    model: nn.Module | None = None,
) -> RangeTest:
    """Run the range test on a copy of `model` (default: a new model as `cfg` says)."""
    problems = [
        message
        for ok, message in [
            (0 < start < end, f"lr-find needs 0 < --start < --end (got {start:g} and {end:g})."),
            (steps >= 10, f"lr-find --steps must be at least 10 (got {steps})."),
        ]
        if not ok
    ]
    if problems:
        raise ConfigError(problems[0])
    torch.manual_seed(cfg.train.seed)
    device = resolve_device(cfg.train.device)
    splits = data.load(cfg.data, final=cfg.train.final).to(device)
    fresh = model if model is not None else make_model(cfg, splits)
    amp = techniques.precision(cfg, device)
    probe = amp.prepare_model(copy.deepcopy(fresh).to(device).train())  # `model` stays as it is
    optimizer = make_optimizer(probe, cfg)
    params = trainable(probe)
    (x, y), bs = splits.train, cfg.train.batch_size
    per_pass = max(1, len(x) // bs)  # full batches only: a tiny last batch is noise
    shuffle = torch.Generator().manual_seed(cfg.train.seed)
    seen: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    average, stopped = 0.0, f"reached --end after {steps} steps"
    for i, rate in enumerate(rates(start, end, steps)):
        if i % per_pass == 0:
            order = torch.randperm(len(x), generator=shuffle).to(device)
        idx = order[(i % per_pass) * bs : (i % per_pass + 1) * bs]
        set_rate(optimizer, rate)
        with amp.autocast():
            loss = task.loss_fn(probe(amp.prepare_input(x[idx])), y[idx])
        value = float(loss.detach())
        if not math.isfinite(value):
            stopped = f"the loss was not finite at rate {rate:.3g}"
            break
        amp.backward_step(loss, optimizer, params, cfg.train.grad_clip)
        average = BETA * average + (1 - BETA) * value
        seen.append(rate)
        losses.append(value)
        smoothed.append(average / (1 - BETA ** (i + 1)))
        if smoothed[-1] > DIVERGED * min(smoothed):
            stopped = f"the smoothed loss exceeded {DIVERGED:g}x its minimum at rate {rate:.3g}"
            break
    if len(smoothed) < 3:
        raise ConfigError(
            f"lr-find: {stopped} after {len(smoothed)} steps; start lower (--start {start:g})."
        )
    suggestion, minimum, steepest = suggest(seen, smoothed)
    return RangeTest(seen, losses, smoothed, stopped, suggestion, RULE, minimum, steepest)


def plot(test: RangeTest, path: Path) -> None:
    """The smoothed loss (and the raw one, faint) against the rate, log x axis."""
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(test.rates, test.losses, color="0.8", linewidth=0.8, label="loss")
    ax.plot(test.rates, test.smoothed, label="smoothed loss")
    ax.axvline(test.suggestion, color="C3", linestyle="--", label=f"{test.suggestion:.2g}")
    ax.plot([test.minimum_rate], [min(test.smoothed)], "o", color="C2", label="minimum")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    top = max(test.smoothed[0], min(test.smoothed)) * 1.5  # the divergence would flatten it
    ax.set_ylim(min(test.losses + test.smoothed) * 0.9, top)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"LR range test: suggested {test.suggestion:.2g} ({test.rule})", fontsize=9)
    fig.tight_layout()
    with atomic(path) as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("lr-find", help="learning-rate range test on a fresh model (no run)")
    p.add_argument("run", nargs="?", type=Path, metavar="RUN", help=argparse.SUPPRESS)
    p.add_argument("--start", type=float, default=1e-7, help="first rate (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="last rate (default 10)")
    p.add_argument("--steps", type=int, default=200, help="steps from --start to --end (200)")
    p.add_argument(
        "--out", type=Path, help="the plot; default: lr_find.png in the runs folder (runs/)"
    )
    return p


def cmd_lr_find(args: argparse.Namespace, cfg: Config) -> int:
    """`lr-find` with the config the command line built (cli.py builds it)."""
    if args.run is not None:
        raise ConfigError(
            f"lr-find trains a fresh model and reads no run folder ({args.run}): to start "
            f"from a run's settings pass --config {Path(args.run) / 'config.toml'}."
        )
    test = find(cfg, args.start, args.end, args.steps)
    out = Path(args.out or Path(cfg.train.runs_dir) / "lr_find.png")
    plot(test, out)
    curve = out.with_suffix(".json")
    write_json({**asdict(test), "config": cfg.to_dict(), "torch": torch.__version__}, curve)
    print(
        f"Suggested learning rate: {test.suggestion:.3g} ({test.rule}; the steepest descent "
        f"of the smoothed loss is at {test.steepest_rate:.3g}).\n"
        f"{len(test.rates)} steps from {test.rates[0]:.3g} to {test.rates[-1]:.3g}: "
        f"{test.stopped}.\nWrote {out} and {curve}"
    )
    return 0
