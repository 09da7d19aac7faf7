"""Data paths at scale: peak memory, time to the first step and samples/s, memory vs stream.

    python benchmarks/data_scale.py                          # 2k, 8k and 32k images
    python benchmarks/data_scale.py --sizes 2000 8000 --train-samples 1024

A default cnn project is rendered (`scaffold new DIR --defaults --no-git --data
baseline=cnn`, temporary SCAFFOLD_HOME) and installed nowhere: each run is a fresh Python
process that imports it from its src/ folder and calls `train.run` for one epoch on a
synthetic folder of 64x64 RGB PNG images in 10 class folders (written once per size,
smooth gradients plus noise, so PNG sizes are realistic). Per size, `data.mode=memory`
then `data.mode=stream` (`data.workers`, default 2), CPU, `OMP_NUM_THREADS=1`:

- peak memory: the largest sum, over the run's process and all its children (the
  DataLoader workers), of each process's PSS (proportional set size, from
  /proc/PID/smaps_rollup: shared pages counted once across the processes), sampled every
  20 ms. PSS, not a cgroup's peak: the runs share this machine's cgroup with other work.
- time to the first step: from the process's start (interpreter, imports, listing or
  decoding the folder, model) to the first training batch handed to the loop; reported
  also split at the call of `train.run` (imports before it, the data path after it).
- steady samples/s: training samples per second between the batch at a fifth of the
  epoch and the last batch (the loop's batches, timed where `stream.Batches.epoch`
  yields them: the step's compute and the data's waiting both count).
`--train-samples` caps the samples trained in the epoch (`data.subset`): the whole folder
is still listed (stream) or decoded (memory), and the steady rate needs no full epoch of
32k images on 2 cores. Results go to benchmarks/results/data_scale.{json,md}, with the
machine, date, command and the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import markdown_table, meta, new_project
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [
    "images", "data.mode", "peak MB", "first step s", "imports s", "after imports s", "samples/s"
]  # fmt: skip
CHILD = r"""
import json, sys, time
start = float(sys.argv[1])
sys.path.insert(0, sys.argv[2])
import torch
torch.set_num_threads(1)
from {package} import config, stream, train
stamps = []
epoch = stream.Batches.epoch
def timed(self, order, per_step):
    for batch in epoch(self, order, per_step):
        stamps.append((time.time(), len(batch[1])))
        yield batch
stream.Batches.epoch = timed
cfg = config.build(overrides=sys.argv[3:])
ran = time.time()
train.run(cfg)
print("STAMPS" + json.dumps({{"start": start, "ran": ran, "stamps": stamps}}))
"""


def write_folder(root: Path, n: int, size: int = 64, classes: int = 10) -> Path:
    """`n` 64x64 RGB PNGs in `classes` folders (kept between sizes: a larger folder is the
    smaller one plus new files)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 160, size, dtype=np.float32)
    for i in range(n):
        path = root / f"class{i % classes}" / f"{i:06d}.png"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        base = ramp[None, :, None] * rng.random(3, dtype=np.float32) + ramp[:, None, None] * 0.3
        pixels = base + rng.normal(0, 12, (size, size, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path)
    return root


def pss(pid: int) -> int:
    """PSS in bytes of `pid` and its descendants (0 for processes already gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
            todo += [int(c) for c in children]
        except (OSError, ValueError):
            continue
    return total


def one_run(project: Path, package: str, overrides: list[str]) -> dict[str, Any]:
    """One training run in a fresh process: peak PSS, time to the first step, samples/s."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.time()
    code = CHILD.format(package=package)
    command = [sys.executable, "-c", code, str(start), str(project / "src"), *overrides]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak = 0
    while child.poll() is None:
        peak = max(peak, pss(child.pid))
        time.sleep(0.02)
    out, err = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"run {overrides} failed:\n{err.decode()[-2000:]}")
    line = next(x for x in out.decode().splitlines() if x.startswith("STAMPS"))
    found = json.loads(line[len("STAMPS") :])
    stamps = found["stamps"]
    k = len(stamps) // 5
    samples = sum(n for _, n in stamps[k + 1 :])
    return {
        "peak_mb": peak / 2**20,
        "first_step_s": stamps[0][0] - found["start"],
        "imports_s": found["ran"] - found["start"],
        "samples_per_s": samples / (stamps[-1][0] - stamps[k][0]),
        "steps": len(stamps),
        "choice": [x for x in err.decode().splitlines() if x.startswith("data:")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--train-samples", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        project = new_project(where / "scale-cnn", where / "home", "baseline=cnn")
        for n in sorted(args.sizes):
            folder = write_folder(where / "images", n)
            for mode in ("memory", "stream"):
                overrides = [
                    f"data.source={folder}", f"data.mode={mode}", f"data.workers={args.workers}",
                    f"data.subset={args.train_samples}", "train.epochs=1", "train.device=cpu",
                    "train.progress=false", f"train.runs_dir={where / 'runs'}",
                ]  # fmt: skip
                got = one_run(project, "scale_cnn", overrides)
                results[f"{n}/{mode}"] = {"images": n, "mode": mode, **got}
                print(
                    f"{n} images, {mode}: peak {got['peak_mb']:.0f} MB, first step "
                    f"{got['first_step_s']:.2f} s, {got['samples_per_s']:.0f} samples/s",
                    flush=True,
                )
    info = meta(torch_threads=1, load_before=load_before, load_after=os.getloadavg()[0])
    report(results, info, args)


def report(results: dict[str, Any], info: dict[str, Any], args: argparse.Namespace) -> None:
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_scale.json").write_text(json.dumps({"meta": info, "results": results}, indent=2))
    rows = [
        [r["images"], r["mode"], f"{r['peak_mb']:.0f}", f"{r['first_step_s']:.2f}",
         f"{r['imports_s']:.2f}", f"{r['first_step_s'] - r['imports_s']:.2f}",
         f"{r['samples_per_s']:.1f}"]
        for r in results.values()
    ]  # fmt: skip
    sizes = sorted({r["images"] for r in results.values()})
    lo, hi = sizes[0], sizes[-1]
    growth = {
        m: results[f"{hi}/{m}"]["peak_mb"] / results[f"{lo}/{m}"]["peak_mb"]
        for m in ("memory", "stream")
    }
    speed = results[f"{lo}/stream"]["samples_per_s"] / results[f"{lo}/memory"]["samples_per_s"]
    text = (
        "# Data paths at scale: memory vs stream (default cnn, 64x64 RGB PNG folders, CPU)\n\n"
        f"- machine: {info['machine']}, torch {info['torch']} (1 thread per process), "
        f"Python {info['python']}\n"
        f"- date: {info['date']}\n- command: `python benchmarks/{info['command']}` "
        f"(1-minute load average {info['load_before']:.1f} before, "
        f"{info['load_after']:.1f} after)\n"
        f"- one epoch of {args.train_samples} training samples (`data.subset`) per run, "
        f"stream with {args.workers} workers; peak memory = the largest summed PSS of the "
        "run's process and its workers; first step = from the process's start, of which "
        "imports = the interpreter's start and imports before `train.run` is called (they do "
        "not depend on the data), after = the rest; the folder's index is not cached\n"
        f"- peak memory from {lo} to {hi} images: memory x{growth['memory']:.2f}, stream "
        f"x{growth['stream']:.2f}; stream/memory samples/s at {lo} images: {speed:.2f}\n\n"
        + markdown_table(COLUMNS, rows)
        + "\n"
    )
    (out / "data_scale.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
