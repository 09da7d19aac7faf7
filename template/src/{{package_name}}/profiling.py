"""Profile training: `python -m <package> train --profile N`.

Runs the normal training (same config, same loop) for N optimizer steps under
`torch.profiler` (CPU activities, and CUDA's when a GPU is present), writes into the run
folder `profile/trace.json` (a Chrome trace: open it in https://ui.perfetto.dev or
chrome://tracing) and `profile/operators.txt` (the top 20 operators by self CPU time),
and stops. The profiler's schedule skips the first step (wait) and warms up on the second,
so N >= 3 records N - 2 steps (fewer steps shorten the schedule); a step that ends an
epoch includes the epoch's evaluation and checkpoint.

`Profile` is a between-step technique (lifecycle.py) that the loop calls after each step
like any other; `run` hands it to `train.run` as an extra technique and ends the run by
a private exception once N steps are recorded. Nothing else changes.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile, schedule

from . import distributed, train
from .config import Config
from .errors import ConfigError
from .files import atomic, write_text
from .lifecycle import Loop, Technique

TOP = 20  # rows of the operator table


class _Done(Exception):
    """Raised after the last profiled step: ends the run without an epoch end."""


class Profile(Technique):
    """Steps `torch.profiler` after each optimizer step; writes its results after `steps`."""

    name = "profile"

    def __init__(self, steps: int) -> None:
        if steps < 1:
            raise ConfigError(
                f"train --profile takes a number of steps of at least 1, not {steps}."
            )
        self.steps, self.done = steps, 0
        self.wait = 1 if steps >= 3 else 0
        self.warmup = 1 if steps >= 2 else 0
        self.written: dict[str, Any] = {}
        self.profiler: profile | None = None

    def start_epoch(self, loop: Loop, epoch: int) -> None:
        if self.profiler is None:  # the first epoch of this process's run
            activities = [ProfilerActivity.CPU]
            if torch.cuda.is_available():
                activities.append(ProfilerActivity.CUDA)
            active = self.steps - self.wait - self.warmup
            with warnings.catch_warnings():  # `--profile 1` has no warmup, and says so
                warnings.filterwarnings("ignore", "Profiler won't be using warmup")
                steps = schedule(wait=self.wait, warmup=self.warmup, active=active, repeat=1)
            self.profiler = profile(
                activities=activities,
                schedule=steps,
                on_trace_ready=lambda prof: self._write(prof, loop),
            )
            self.profiler.start()

    def after_step(self, loop: Loop, epoch: int, step: int) -> None:
        assert self.profiler is not None  # started at the epoch's start
        self.profiler.step()  # the last one ends the active window: `_write` runs
        self.done += 1
        if self.done == self.steps:
            self.profiler.stop()
            raise _Done

    def _write(self, prof: profile, loop: Loop) -> None:
        if not loop.group.main:  # under torchrun, process 0 writes
            return
        folder = loop.run_dir / "profile"
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=TOP)
        trace = folder / "trace.json"
        with tempfile.TemporaryDirectory() as tmp:  # the profiler writes a path: then atomically
            prof.export_chrome_trace(str(Path(tmp) / "trace.json"))
            with atomic(trace) as f:
                f.write((Path(tmp) / "trace.json").read_bytes())
        header = (
            f"torch.profiler: {self.steps} optimizer steps (wait {self.wait}, warmup "
            f"{self.warmup}, recorded {self.steps - self.wait - self.warmup}); "
            f"top {TOP} operators by self CPU time.\n\n"
        )
        write_text(header + table + "\n", folder / "operators.txt")
        self.written = {"run_dir": str(loop.run_dir), "trace": str(trace), "table": table}
        self.written["operators"] = str(folder / "operators.txt")


def run(cfg: Config, steps: int, resume: Path | None = None) -> dict[str, Any]:
    """Train as `cfg` says for `steps` optimizer steps under the profiler, then stop."""
    profiler = Profile(steps)  # refuses steps < 1 before a run folder is made
    try:
        train.run(cfg, resume=resume, extra=[profiler])
    except _Done:
        return profiler.written
    if profiler.profiler is not None:
        profiler.profiler.stop()
    raise ConfigError(
        f"train --profile {steps}: the run ended after {profiler.done} steps, before the "
        "profile was complete; profile fewer steps or train more epochs."
    )


def cmd_profile(args: argparse.Namespace, cfg: Config) -> int:
    """`train --profile N` with the config the command line built (cli.py builds it)."""
    written = run(cfg, args.profile, args.resume)
    if written:  # process 0
        print(written["table"])
        print(f"Wrote {written['trace']} and {written['operators']}")
    distributed.close()
    return 0
