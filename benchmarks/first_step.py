"""Time to the first step on the stream path, with the folder's index cache cold and warm.

    python benchmarks/first_step.py                      # 32k 64x64 RGB PNGs in 10 classes
    python benchmarks/first_step.py --images 8000 --folder /tmp/images --repeat 3

A default cnn project is rendered (as data_scale.py does) and each run is a fresh Python
process that calls `train.run` with `data.mode=stream` (`data.workers`, default 2) on a
folder written by data_scale.py's `write_folder` (kept between runs with `--folder`). The
clock starts when `train.run` is called (imports and the interpreter's start excluded: they
do not depend on the data) and stops when the loop receives its first training batch; the
run then ends. Also reported: the part spent in `folders.image_folder` (listing the folder
and checking each image's header, through the cache), the headers actually read, and the
part spent making the optimizer: its first construction in a process imports
torch._dynamo, a cost of PyTorch that every run pays whatever its data.
Runs, in this order: `data.cache_dir=off` (every header read, as before the cache), cold
(an empty cache folder: every header read, then the index written), warm (`--repeat`
times: nothing changed, no header read). `--subset` sets data.subset (default 0: the whole
folder, as `train --set data.source=FOLDER` runs; the input statistics then decode 512
evenly spaced training images before the first step). Results go to
benchmarks/results/first_step.{json,md}, with the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import markdown_table, meta, new_project
from data_scale import write_folder

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [
    "data.cache_dir", "images", "first step s", "image_folder s", "headers read", "optimizer s"
]  # fmt: skip
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
from {package} import config, folders, sources, stream, train
marks, headers = {{}}, [0]
real_header, real_folder, epoch = sources.header, folders.image_folder, stream.Batches.epoch
real_optimizer = train.make_optimizer
def make_optimizer(model, cfg):
    start = time.perf_counter()
    out = real_optimizer(model, cfg)
    marks["optimizer_s"] = time.perf_counter() - start
    return out
def header(path):
    headers[0] += 1
    return real_header(path)
def image_folder(root, cfg):
    start = time.perf_counter()
    out = real_folder(root, cfg)
    marks["image_folder_s"] = time.perf_counter() - start
    return out
class First(Exception):
    pass
def first(self, order, per_step):
    for batch in epoch(self, order, per_step):
        marks["first_step_s"] = time.perf_counter() - marks["start"]
        raise First
    yield from ()
sources.header, folders.image_folder, stream.Batches.epoch = header, image_folder, first
train.make_optimizer = make_optimizer
cfg = config.build(overrides=sys.argv[2:])
marks["start"] = time.perf_counter()
try:
    train.run(cfg)
except First:
    pass
print("MARKS" + json.dumps({{**marks, "headers_read": headers[0]}}))
"""


def one_run(project: Path, package: str, overrides: list[str]) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = CHILD.format(package=package)
    command = [sys.executable, "-c", code, str(project / "src"), *overrides]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"run {overrides} failed:\n{done.stderr[-2000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("MARKS"))
    found = json.loads(line[len("MARKS") :])
    found.pop("start")
    return dict(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32000)
    parser.add_argument("--folder", type=Path, help="image folder (kept); default: temporary")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="warm runs")
    more = "0: all; the input statistics then decode 512 images before the first step"
    parser.add_argument("--subset", type=int, default=0, help=f"data.subset ({more})")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        folder = write_folder(args.folder or where / "images", args.images)
        project = new_project(where / "first-cnn", where / "home", "baseline=cnn")
        common = [
            f"data.source={folder}", "data.mode=stream", f"data.workers={args.workers}",
            f"data.subset={args.subset}", "train.device=cpu", "train.progress=false",
            f"train.runs_dir={where / 'runs'}",
        ]  # fmt: skip
        cache = where / "cache"
        plan = [("off", "data.cache_dir=off"), ("cold", f"data.cache_dir={cache}")]
        plan += [("warm", f"data.cache_dir={cache}")] * args.repeat
        for name, setting in plan:
            got = one_run(project, "first_cnn", [*common, setting])
            rows.append({"cache": name, "images": args.images, **got})
            print(
                f"{name}: first step {got['first_step_s']:.2f} s (image_folder "
                f"{got['image_folder_s']:.2f} s, {got['headers_read']} headers read, optimizer "
                f"{got['optimizer_s']:.2f} s), "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    info = meta(torch_threads=1, load_before=load_before, load_after=os.getloadavg()[0])
    report(rows, info, args)


def report(rows: list[dict[str, Any]], info: dict[str, Any], args: argparse.Namespace) -> None:
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "first_step.json").write_text(json.dumps({"meta": info, "runs": rows}, indent=2))
    table = [
        [r["cache"], r["images"], f"{r['first_step_s']:.2f}", f"{r['image_folder_s']:.2f}",
         r["headers_read"], f"{r['optimizer_s']:.2f}"]
        for r in rows
    ]  # fmt: skip
    text = (
        "# Time to the first step, stream path, index cache off/cold/warm (default cnn, "
        "64x64 RGB PNGs, CPU)\n\n"
        f"- machine: {info['machine']}, torch {info['torch']} (1 thread per process), "
        f"Python {info['python']}\n"
        f"- date: {info['date']}\n- command: `python benchmarks/{info['command']}` "
        f"(1-minute load average {info['load_before']:.1f} before, "
        f"{info['load_after']:.1f} after)\n"
        f"- from the call of `train.run` to the first training batch, {args.workers} workers, "
        f"data.subset={args.subset}; "
        "image_folder = listing the folder and checking its headers (through the cache); "
        "optimizer = making the optimizer (its first one in a process imports torch._dynamo)\n\n"
        + markdown_table(COLUMNS, table)
        + "\n"
    )
    (out / "first_step.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
