"""The two data paths, one way to iterate them: `memory` and `stream` (`data.mode`).

- `memory`: the decoded dataset is a tensor on the training device; a batch is an index
  into it (no per-batch host-to-device copy). The fastest path while the data fits.
- `stream`: the dataset stays on disk (image files, tar shards, memory-mapped `.npy` and
  `.npz`); a DataLoader's workers decode the samples of each batch, pinned (on CUDA) and
  copied without blocking.
- `auto` (the default) picks `memory` when the decoded training data (N x C x H x W x 4
  bytes, float32) fits `data.memory_budget` times the free memory (the free RAM, and on a
  CUDA machine also the free GPU memory, whichever is smaller) and `data.memory_cap_mib`
  (1 GiB; 0 for no cap). Otherwise `stream`. It says which it chose, and why, in one line.
  The cap is there because the memory path decodes every sample before the first step, in
  one process, and briefly holds about 1.5 times the decoded size: 32k 64x64 RGB images
  (1.5 GiB decoded) took 15 s to the first step and peaked at 2.3 GB, where streaming
  took 4.4 s (2.6 s with the folder's index cached) and 0.6 GB at about the same
  samples/s on a 2-core CPU (benchmarks/data_scale.py and first_step.py). On a machine
  with memory to spare and a GPU to feed, raise the cap: batches indexed on the device
  skip the per-batch copy.

Both paths take a batch's samples in the same order: the loop hands `Batches.epoch` this
process's indices for the epoch (seed + epoch permutation, DistributedSampler's dealing
under torchrun), and the stream path's batch sampler yields exactly those indices. So on
small data both train to the same weights (a test checks it bitwise). The DataLoader draws
its worker seeds from its own generator, never from the global RNG that dropout and
augmentation use: a resumed run on the stream path continues exactly.

A failing worker (a damaged image, a killed process) ends the run with a DataError that
carries the worker's error: a dead worker is detected by the DataLoader's status check,
never waited on forever.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from . import distributed
from .config import DataConfig
from .errors import DataError
from .sources import Lazy, reason

Batch = tuple[torch.Tensor, torch.Tensor]


def free_bytes() -> int:
    """Free memory of this machine (MemAvailable; the physical memory where unreadable),
    and of the current CUDA device when there is one, whichever is smaller."""
    free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        pass
    if torch.cuda.is_available():
        free = min(free, torch.cuda.mem_get_info()[0])
    return free


def choose(cfg: DataConfig, nbytes: int, streamable: bool, source: str) -> str:
    """`memory` or `stream` for data of `nbytes` decoded; `auto` prints its choice."""
    if cfg.mode == "stream" and not streamable:
        raise DataError(
            f"data.mode = 'stream' reads class folders of images (or shards) and .npy or .npz "
            f"arrays; "
            f"{source or 'the default data'} is loaded in memory (data.mode = 'memory')."
        )
    if cfg.mode != "auto":
        return cfg.mode
    free = free_bytes()
    budget = int(cfg.memory_budget * free)
    if cfg.memory_cap_mib > 0:
        budget = min(budget, int(cfg.memory_cap_mib * 2**20))
    mode = "memory" if nbytes <= budget or not streamable else "stream"
    if streamable:
        cap = f"data.memory_cap_mib {cfg.memory_cap_mib:g} and " if cfg.memory_cap_mib > 0 else ""
        print(
            f"data: {mode} ({nbytes / 2**20:.0f} MiB decoded {'<=' if mode == 'memory' else '>'} "
            f"{budget / 2**20:.0f} MiB, the smaller of {cap}data.memory_budget "
            f"{cfg.memory_budget:g} x {free / 2**20:.0f} MiB free)",
            file=sys.stderr,
        )
    return mode


def workers(cfg: DataConfig) -> int:
    """`data.workers`, or for -1 (auto) half the CPUs this process may use, at most 8."""
    if cfg.workers >= 0:
        return cfg.workers
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(8, (cpus or 2) // 2))


class Samples(Dataset[Batch]):
    """(input, label) of sample i: the input decoded in the worker, the label from memory."""

    def __init__(self, x: Lazy, y: torch.Tensor) -> None:
        self.x, self.y = x, y.cpu()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> Batch:
        return torch.from_numpy(self.x.sample(i)), self.y[i]


class Steps(Sampler[list[int]]):
    """The batch sampler: this epoch's indices, cut into steps of `per_step` samples."""

    def __init__(self) -> None:
        self.order: list[int] = []
        self.per_step = 1

    def __iter__(self) -> Iterator[list[int]]:
        for start in range(0, len(self.order), self.per_step):
            yield self.order[start : start + self.per_step]

    def __len__(self) -> int:
        return -(-len(self.order) // self.per_step)


def _seed_worker(worker: int) -> None:
    """numpy's global RNG in each worker from the worker's torch seed (which the
    DataLoader's own generator fixes), so any numpy randomness in a sample repeats."""
    np.random.seed(torch.initial_seed() % 2**32)


class Batches:
    """The training batches of one split, on either path; `epoch` yields (x, y) per step."""

    def __init__(self, x: torch.Tensor | Lazy, y: torch.Tensor, cfg: DataConfig, seed: int) -> None:
        self.x, self.y, self.device = x, y, y.device
        self.steps = Steps()
        self.loader: DataLoader[Batch] | None = None
        if isinstance(x, Lazy):
            count = workers(cfg)
            self.loader = DataLoader(
                Samples(x, y),
                batch_sampler=self.steps,
                num_workers=count,
                pin_memory=self.device.type == "cuda",
                persistent_workers=count > 0,
                prefetch_factor=cfg.prefetch if count > 0 else None,
                worker_init_fn=_seed_worker,
                generator=torch.Generator().manual_seed(seed),  # never the global RNG
            )

    def epoch(self, order: torch.Tensor, per_step: int) -> Iterator[Batch]:
        """The batches of `order` (this process's indices for the epoch), per_step each."""
        if self.loader is None:  # memory: index the tensors on the device
            order = order.to(self.device)
            for start in range(0, len(order), per_step):
                idx = order[start : start + per_step]
                yield self.x[idx], self.y[idx]
            return
        self.steps.order, self.steps.per_step = order.tolist(), per_step
        try:
            for xb, yb in self.loader:
                yield xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
        except (DataError, RuntimeError) as err:  # a worker died or raised: not a hang
            raise DataError(worker_error(err)) from None


def worker_error(err: BaseException) -> str:
    """One sentence for a worker's failure: a worker's DataError (re-raised by the
    DataLoader with the worker's traceback) as its own last line, else the message."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    last = lines[-1] if lines else type(err).__name__
    if last.startswith(("DataError: ", f"{__package__}.errors.DataError: ")):
        return last.split("DataError: ", 1)[1]
    return f"A data worker failed: {reason(err)}."


def shard(x: torch.Tensor | Lazy) -> torch.Tensor | Lazy:
    """This process's share of x for evaluation (distributed.shard), unread for a Lazy."""
    rank, size = distributed.world()
    if isinstance(x, Lazy):
        return x.view(np.arange(rank, len(x), size)) if size > 1 else x
    return distributed.shard(x)


def in_order(x: torch.Tensor | Lazy, y: torch.Tensor, batch_size: int) -> Iterator[Batch]:
    """(x, y) in batches, in order, for evaluation: slices of tensors, or for a Lazy the
    samples decoded batch by batch (never the whole split at once)."""
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size], y[start : start + batch_size]


class Moments:
    """Count, mean and sum of squared deviations of values seen in parts (float64; the
    parts merged with Chan et al.'s formula), so a mean and std need no part kept."""

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, values: torch.Tensor) -> None:
        """Count in the finite ones of `values` (masked only when some are not: a mask
        copies the values, and took four times the arithmetic on 4096 images)."""
        finite = torch.isfinite(values)
        if not bool(finite.all()):
            values = values[finite]
        n = values.numel()
        if not n:
            return
        var, mean = torch.var_mean(values, correction=0)
        part_mean, part_m2 = mean.item(), var.item() * n
        delta, total = part_mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.m2 += part_m2 + delta * delta * self.count * n / total
        self.count = total

    @property
    def std(self) -> float:
        """The sample standard deviation; NaN for fewer than two values."""
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else math.nan


def stats_chunks(
    x: torch.Tensor | Lazy, limit: int = 512, chunk: int = 256
) -> Iterator[torch.Tensor]:
    """The samples statistics are taken from, as float64 CPU tensors of `chunk` samples
    each: all of a tensor; of a Lazy up to `limit`, evenly spaced (all of them when it has
    no more, so small data gives both paths the same statistics), decoded a chunk at a
    time, never all at once. (The CPU: MPS has no float64.) The limit weighs two numbers
    against the start: 512 images (6M values at 64x64 RGB) pin one mean and one std well
    enough to normalise inputs with, and on the stream path each is decoded before the
    first step."""
    rows = _stats_rows(x, limit)
    for start in range(0, len(rows), chunk):
        part = x[rows[start : start + chunk]] if isinstance(x, Lazy) else x[start : start + chunk]
        yield part.to("cpu", torch.float64)


def input_stats(x: torch.Tensor | Lazy) -> tuple[float, float]:
    """Mean and std of the finite values of `stats_chunks(x)`: both paths give small data
    the same numbers. NaN when no value is finite (std also for one)."""
    moments = Moments()
    for part in stats_chunks(x):
        moments.add(part)
    return (moments.mean if moments.count else math.nan), moments.std


def _stats_rows(x: torch.Tensor | Lazy, limit: int) -> np.ndarray:
    """The rows statistics are taken from: all of a tensor's; of a Lazy up to `limit`,
    evenly spaced."""
    if not isinstance(x, Lazy):
        return np.arange(len(x))
    return np.linspace(0, len(x) - 1, min(limit, len(x))).round().astype(np.int64)
