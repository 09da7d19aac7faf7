"""Many processes, one loop: PyTorch's own torchrun + DistributedDataParallel (DDP).

    torchrun --standalone --nproc_per_node=4 -m <package> train          # one machine
    torchrun --nnodes=2 --node_rank=0 --rdzv_backend=c10d \\
        --rdzv_endpoint=HOST:29500 --nproc_per_node=8 -m <package> train  # two machines

torchrun starts one process per device and sets RANK, WORLD_SIZE and LOCAL_RANK; without
them (`python -m <package> train`) everything here is a no-op and the run is one process.
With them, each process joins the process group (NCCL on GPUs, gloo on CPUs), trains on
its own device, and DDP averages the gradients, so every process holds the same weights.

- `train.batch_size` is the global batch: each of N processes takes batch_size / N samples
  per step, so a run on N devices takes the same steps as on one, with the same learning
  rate. (To go faster per epoch, raise batch_size with N and scale the rate with it.)
- The shuffle is DistributedSampler's: a permutation from the seed and the epoch, dealt
  out round-robin. One process sees the same batches in the same order as N together.
- Metrics are sums and counts, added up over the processes before the division, never a
  mean of means. Evaluation splits the data between the processes without padding, so
  held-out metrics equal a one-process evaluation exactly.
- Process 0 alone prints, plots, logs and writes checkpoints; every process can resume
  from them. Process 0 picks the run folder and tells the others.
- The techniques need no extra communication: DDP starts every process from process 0's
  weights and hands each the same averaged gradients, so weights and optimizer state are
  bitwise equal everywhere, and so are DSD's magnitude masks, SWATS's estimate and
  decision, and the epoch-driven phases, restarts and snapshots. A pre-computation cache
  is built by each process for itself. `train.sync_batchnorm` (GPUs) shares BatchNorm's
  batch statistics; without it each process normalises by its own share of the batch.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Group:
    """This process's place in the run: rank `rank` of `world` processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Process 0: the one that prints and writes."""
        return self.rank == 0


def launched() -> bool:
    """Started by torchrun with more than one process?"""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> tuple[Group, torch.device]:
    """Join the process group torchrun describes (if any); return it and this rank's device."""
    if not launched():
        return Group(), device
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Group(dist.get_rank(), dist.get_world_size(), local_rank), device


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside a process group."""
    return (dist.get_rank(), dist.get_world_size()) if active() else (0, 1)


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` added up over all processes (itself when there is one)."""
    if active():
        tensor = tensor.clone()
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def share(value: Any) -> Any:
    """Process 0's `value`, on every process."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def per_process(n: int, group: Group) -> int:
    """Samples each process takes per epoch: ceil(n / world), as DistributedSampler pads."""
    return -(-n // group.world)


def order(n: int, seed: int, epoch: int, group: Group) -> torch.Tensor:
    """This process's sample indices for `epoch`: DistributedSampler's shuffle of range(n)
    (a permutation from seed + epoch, padded with its own start to a multiple of the world
    size, dealt out round-robin), computed on tensors: no Python list of n indices per epoch.
    A test checks it equals `list(DistributedSampler(...))`."""
    generator = torch.Generator()
    generator.manual_seed(seed + epoch)
    indices = torch.randperm(n, generator=generator)
    total = per_process(n, group) * group.world
    if total > n:  # padding: repeat the permutation from its start
        indices = indices.repeat(-(-total // n))[:total]
    return indices[group.rank : total : group.world]


def shard(x: torch.Tensor) -> torch.Tensor:
    """This process's share of `x` for evaluation: every world-th sample, no padding."""
    rank, size = world()
    return x[rank::size] if size > 1 else x


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The model DDP trains (gradients averaged over processes); `model` itself alone."""
    if not active():
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def no_sync(model: torch.nn.Module, skip: bool) -> contextlib.AbstractContextManager[Any]:
    """DDP's `no_sync()` when `skip` (a micro-batch before the last of an accumulated step:
    its gradients stay local and are averaged with the last one's), else nothing."""
    if skip and isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return model.no_sync()
    return contextlib.nullcontext()


def close() -> None:
    """Leave the process group once every process has finished (the end of a good run)."""
    if active():
        dist.barrier()
        dist.destroy_process_group()


def end(code: int) -> int:
    """`code` outside torchrun; under torchrun, end this process now with `code`.

    A process started by torchrun skips Python's interpreter shutdown. Otherwise gloo's
    worker threads, which live on after the process group is closed, can still be letting
    go of a collective's tensors while the interpreter shuts down. A thread that then needs
    the GIL aborts the process ("terminate called without an active exception", PyTorch
    issue 190489), after the run has finished and been written. Everything is written and
    closed by this point; the streams are flushed here.
    """
    if not launched():
        return code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
