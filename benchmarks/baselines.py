"""Time to target for every baseline: render, train the default config in final mode, report.

    python benchmarks/baselines.py                       # all baselines, seed 0
    python benchmarks/baselines.py --baselines cnn lstm --seeds 0 1 2
    nox -s bench                                         # the same, all baselines

Each baseline is rendered with `scaffold new --defaults` (its default features, as a user
gets them) into a temporary folder and run as
a user would: `python -m <package> train --final --no-progress --seed S`. The held-out test
metric comes from the run's summary.json; wall time is measured around the whole command
(data preparation included). Results go to benchmarks/results/baselines.{json,md}, with
the machine, versions, date and command.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import (  # noqa: E402
    date_and_command,
    machine_line,
    markdown_table,
    meta,
    new_project,
)

from scaffold.variants import baseline_facts, choices  # noqa: E402

# The targets on the held-out test split: (metric key, comparison, threshold), from each
# baseline's facts (template/_baselines/<name>/baseline.yml).
TARGETS = {
    name: (
        baseline_facts(name)["benchmark"]["metric"],
        ">=",
        baseline_facts(name)["benchmark"]["target"],
    )
    for name in choices("baseline")
}


def render(baseline: str, where: Path) -> tuple[Path, str]:
    project = new_project(where / f"bench-{baseline}", where / "home", f"baseline={baseline}")
    return project, f"bench_{baseline}"


def train(project: Path, package: str, seed: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    command = [sys.executable, "-m", package, "train", "--final", "--no-progress",
               "--seed", str(seed), "--run-name", f"seed{seed}"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{package} seed {seed} failed:\n{done.stderr[-2000:]}")
    summary = json.loads((project / "runs" / f"seed{seed}" / "summary.json").read_text())
    if "test_noisy_psnr" in summary:
        summary["psnr_gain"] = summary["test_psnr"] - summary["test_noisy_psnr"]
    summary["wall_seconds"] = wall
    return summary


def table(results: dict[str, list[dict]]) -> str:
    header = ["baseline", "metric (test)", "mean", "min..max", "target", "met", "epochs"]
    rows = []
    for baseline, runs in results.items():
        key, op, threshold = TARGETS[baseline]
        values = [r[key] for r in runs]
        mean = statistics.fmean(values)
        met = all(v >= threshold for v in values)
        extra = ""
        if key == "psnr_gain":
            extra = f" (test {statistics.fmean(r['test_psnr'] for r in runs):.2f} dB vs noisy " \
                    f"{statistics.fmean(r['test_noisy_psnr'] for r in runs):.2f} dB)"  # fmt: skip
        wall = statistics.fmean(r["wall_seconds"] for r in runs)
        rows.append(
            [baseline, f"{key}{extra}", f"{mean:.4f}", f"{min(values):.4f}..{max(values):.4f}",
             f"{op} {threshold}", "yes" if met else "NO", runs[0]["epochs"], f"{wall:.1f}",
             f"{runs[0]['parameters']:,}"]
        )  # fmt: skip
    return markdown_table([*header, "wall s", "params"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", nargs="+", default=choices("baseline"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for baseline in args.baselines:
            project, package = render(baseline, Path(tmp))
            for seed in args.seeds:
                print(f"{baseline} seed {seed} ...", flush=True)
                results.setdefault(baseline, []).append(train(project, package, seed))
                run = results[baseline][-1]
                key = TARGETS[baseline][0]
                print(f"  {key} = {run[key]:.4f}, {run['wall_seconds']:.1f} s", flush=True)
    import torch

    info = meta(torch.get_num_threads())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "baselines.json").write_text(json.dumps({"meta": info, "runs": results}, indent=2))
    report = (
        "# Baselines: default config, final mode (train+valid), held-out test split\n\n"
        + machine_line(info)
        + date_and_command(info)
        + f"- seeds: {args.seeds}\n\n"
        + table(results)
        + "\n"
    )
    (args.out / "baselines.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
