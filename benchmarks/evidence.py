"""Evidence: do the reference's claims hold on our baselines? Paired comparisons over seeds.

    python benchmarks/evidence.py                      # every lab and claim, seeds 0..4
    python benchmarks/evidence.py --labs cnn-digits --only averaging warmup
    python benchmarks/evidence.py --quick --out /tmp/ev  # every arm, tiny sizes, 2 seeds
    nox -s evidence

The reference is "Father to Son: Part I". Each claim becomes one or more comparisons
(claim, baseline, arm A, arm B): both arms train the baseline's default config, changed
only by the technique, with the same seeds, and with the seed as the valid split's seed
too, so each seed is a pair with one split (evidence_lab.py). A comparison reports the
mean paired difference B - A with a 95% Student-t interval over the pairs, and calls an
effect ("helps", "hurts") only when the interval excludes 0 (evidence_stats.py); the
claims are in evidence_claims.py, the BatchNorm/NaN one in evidence_nan.py, the data
generators in evidence_data.py. A lab is a baseline on one data set (LABS); `--quick`
runs every lab's every arm with 3 epochs, 128 training samples and seeds 0 1, for tests.

Sizes, chosen for the 60-minute budget of the whole default command on an idle 2-core
machine (an estimate from the earlier single-lab script's 7 minutes for about 60 cnn-digits
runs, not a measurement of this one): 5 seeds; cnn and resnet_dw on digits at their default
30 epochs (1,797 images); cnn on shapes, 6,000 images of 16x16 RGB (not 32x32, which cost
about 16 times the digits' compute per image), 10 epochs; lstm on MNIST-1D made with 10,000
samples (8,000 train+valid, 2,000 test), 15 epochs; unet on 18 photographs at its default 15
epochs. `--jobs N` trains N seeds of an arm at once.

Results: benchmarks/results/evidence.md (the summary table first, then each lab's),
evidence.json (every run's raw numbers) and evidence-<lab>.png (each pair drawn).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evidence_data  # noqa: E402
from _common import markdown_table, meta  # noqa: E402
from evidence_claims import CLAIM_RUNNERS  # noqa: E402
from evidence_lab import ROOT, THREADS, Lab  # noqa: E402
from evidence_nan import claim_nan  # noqa: E402
from evidence_stats import METHOD, interval_text, mean_text, pair_plot  # noqa: E402

ALL = ["averaging", "warmup", "onnx", "snapshots", "dsd", "switch", "downsample", "bn_order",
       "precision", "precompute", "nan"]  # fmt: skip
KIT = ["dsd", "snapshots", "switch", "averaging", "warmup"]
# lab -> (baseline, data description, claims, epochs (None: the default), data maker)
LABS: dict[str, dict[str, Any]] = {
    "cnn-digits": {"baseline": "cnn", "data": "digits", "claims": ALL},
    "cnn-shapes": {
        "baseline": "cnn",
        "data": "shapes 16x16 RGB, 6000",
        "claims": ["dsd", "snapshots", "averaging", "warmup", "downsample", "bn_order"],
        "epochs": 10,
        "make": lambda folder, quick: evidence_data.write_shapes(
            folder / "shapes.npz", 600 if quick else 6000, 16
        ),
    },
    "resnet_dw-digits": {
        "baseline": "resnet_dw",
        "data": "digits",
        "claims": [*KIT, "onnx"],
    },
    "lstm-mnist1d": {
        "baseline": "lstm",
        "data": "MNIST-1D, 10000 made",
        "claims": [*KIT, "onnx"],
        "epochs": 15,
        "make": lambda folder, quick: evidence_data.write_mnist1d(
            folder / "mnist1d.npz", 1000 if quick else 10000
        ),
    },
    "unet-photos": {
        "baseline": "unet",
        "data": "sklearn + skimage photos",
        "claims": KIT,
        "make": lambda folder, quick: _photos(folder, quick),
    },
}
QUICK = {"epochs": 3, "seeds": [0, 1], "subset": 128}


def _photos(folder: Path, quick: bool) -> Path:
    evidence_data.write_photos(folder / "photos", limit=4 if quick else 0)
    return folder / "photos"


def run_lab(
    name: str,
    where: Path,
    seeds: Sequence[int],
    only: Sequence[str] | None,
    quick: bool,
    jobs: int = 1,
    epochs: int | None = None,
    threads: int = THREADS,
) -> tuple[Lab, list[dict], dict[str, Any]]:
    spec = LABS[name]
    base: list[str] = []
    if "make" in spec:
        made = where / f"data-{name}"
        made.mkdir(parents=True, exist_ok=True)
        base.append(f"data.source={spec['make'](made, quick)}")
    if quick:
        base.append(f"data.subset={QUICK['subset']}")
    epochs = QUICK["epochs"] if quick else epochs or spec.get("epochs")
    lab = Lab(where, name, spec["baseline"], spec["data"], epochs, base, jobs, threads)
    comparisons: list[dict] = []
    stories: dict[str, Any] = {}
    for claim in spec["claims"]:
        if only and claim not in only:
            continue
        print(f"{name}: {claim}", flush=True)
        try:
            if claim == "nan":
                found, stories["nan"] = claim_nan(lab, seeds)
            else:
                found = CLAIM_RUNNERS[claim](lab, seeds)
        except (Exception, SystemExit) as err:  # one claim's failure is reported, not fatal
            lines = [line for line in str(err).splitlines() if line.strip()]
            stories.setdefault("failed", []).append(f"{name}, {claim}: {' / '.join(lines[-3:])}")
            print(f"{name}: {claim} FAILED: {err}", flush=True)
            continue
        comparisons += found
    return lab, comparisons, stories


def summary_rows(comparisons: Sequence[dict]) -> list[list[str]]:
    rows = []
    for c in comparisons:
        digits = 0 if "samples/s" in c["metric"] else 4
        rows.append(
            [
                c["title"],
                c["baseline"],
                f"{c['b']} vs {c['a']}",
                c["metric"],
                mean_text(c["a_values"], digits),
                mean_text(c["b_values"], digits),
                interval_text(c["interval"], digits),
                f"**{c['verdict']}**",
                c["reference"] + (f"; {c['paper']}" if c["paper"] else ""),
            ]
        )
    return rows


PAPER = {"lstm": " (the MNIST-1D paper, 4,000 training samples: CNN 0.94, GRU 0.91 test accuracy)"}


def baseline_line(lab: Lab) -> str:
    """The default config's own number on this lab's data, beside a paper's where known."""
    runs = [r for name, r in lab.runs.items() if name.startswith("default-s") and "summary" in r]
    key = "valid_psnr" if lab.baseline == "unet" else "valid_accuracy"
    values = [r["summary"][key] for r in runs]
    return f"- the default config's {key}: {mean_text(values)}" + PAPER.get(lab.baseline, "")


HEADER = ["claim", "baseline (data)", "B vs A", "metric", "A", "B", "B - A [95% CI]", "verdict",
          "the reference (and a paper)"]  # fmt: skip


def report(info: dict[str, Any], labs: dict[str, Lab], comparisons: list[dict], stories) -> str:
    lines = [
        "# Evidence: the reference's claims on our baselines, in pairs",
        "",
        "Each comparison trains arm A and arm B with the same seeds and splits; a cell A or "
        "B reads `mean (min..max)` over seeds, and `B - A` is the mean paired difference "
        f"with its 95% interval ({METHOD}: Student's t over the per-seed differences). "
        "The verdict is `helps` or `hurts` only when the interval excludes 0, otherwise "
        "`no effect found at this size`; for losses lower is better, for everything else "
        "higher. Numbers are the valid split's, last epoch (`benchmarks/evidence.py`).",
        "",
        f"- machine: {info['machine']}; torch {info['torch']}, {info['torch_threads']} threads "
        f"per run; Python {info['python']}",
        f"- date: {info['date']}",
        f"- command: `{info['command']}`",
        f"- load average (1 min) at start {info['load_start']:.2f}, at end "
        f"{info['load_end']:.2f}; wall time {info['wall_seconds']:.0f} s, {info['runs']} runs, "
        f"{info['jobs']} at a time, {info.get('reused', 0)} of them reused from `--work`"
        + (" (--quick: tiny sizes, not evidence)" if info["quick"] else ""),
        f"- seeds: {', '.join(map(str, info['seeds']))}; interval: {METHOD}",
        "",
        "## Summary",
        "",
        markdown_table(HEADER, summary_rows(comparisons)),
        "",
    ]
    for key, lab in labs.items():
        rows = [c for c in comparisons if c["lab"] == key]
        sizes = lab.data["sizes"]
        lines += [
            f"## {key}: {lab.baseline} on {lab.data_name}",
            "",
            f"- epochs {lab.epochs}, batch {lab.batch_size}, lr {lab.lr:g}; split sizes: "
            + ", ".join(f"{k} {v}" for k, v in sizes.items()),
            f"- settings every run has: {' '.join(f'`{s}`' for s in lab.base) or 'none'}",
            baseline_line(lab),
            "",
            markdown_table(
                [
                    "claim",
                    "B vs A",
                    "metric",
                    "per-seed B - A",
                    "B - A [95% CI]",
                    "verdict",
                    "note",
                ],
                [
                    [
                        c["title"],
                        f"{c['b']} vs {c['a']}",
                        c["metric"],
                        " ".join(f"{d:+.4g}" for d in c["interval"]["diffs"]),
                        interval_text(c["interval"]),
                        c["verdict"],
                        c["note"],
                    ]
                    for c in rows
                ],
            ),  # fmt: skip
            "",
            f"![pairs, {key}](evidence-{key}.png)",
            "",
        ]
    if stories.get("failed"):
        lines += ["## Claims that failed to run", ""]
        lines += [f"- {line}" for line in stories["failed"]] + [""]
    if "nan" in stories:
        lines += ["## The planted NaN (cnn, digits)", "", stories["nan"]["text"], ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--labs", nargs="+", choices=list(LABS), metavar="LAB",
                        help=f"only these labs: {', '.join(LABS)}")  # fmt: skip
    parser.add_argument("--only", nargs="+", choices=ALL, metavar="CLAIM",
                        help=f"only these claims: {', '.join(ALL)}")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="every arm, tiny sizes, 2 seeds")
    parser.add_argument(
        "--jobs", type=int, default=1, help="training runs at once (seeds of one arm)"
    )
    parser.add_argument("--epochs", type=int, help="every lab's epochs (default: each lab's)")
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads per run")
    parser.add_argument(
        "--work", type=Path, help="keep projects and runs here; finished runs are reused"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    seeds = QUICK["seeds"] if args.quick else args.seeds
    load_start, started = os.getloadavg()[0], time.perf_counter()
    labs: dict[str, Lab] = {}
    comparisons: list[dict] = []
    stories: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="evidence-") as temporary:
        tmp = str(args.work or temporary)
        stage = Path(temporary) / "results"  # everything lands in --out at the end
        stage.mkdir()
        for name in args.labs or list(LABS):
            print(f"{name} ({time.perf_counter() - started:.0f} s so far)", flush=True)
            try:
                lab, found, told = run_lab(
                    name, Path(tmp), seeds, args.only, args.quick, args.jobs, args.epochs,
                    args.threads,
                )  # fmt: skip
            except (Exception, SystemExit) as err:  # a lab that cannot start: reported
                stories.setdefault("failed", []).append(f"{name}: {str(err)[-300:]}")
                continue
            labs[name] = lab
            stories["failed"] = stories.get("failed", []) + told.pop("failed", [])
            stories |= told
            comparisons += found
            if found:
                pair_plot(stage / f"evidence-{name}.png", f"{name}: each seed's pair", found)
        runs = {f"{k}/{r}": rec for k, lab in labs.items() for r, rec in lab.runs.items()}
        info = meta(
            args.threads,
            command=" ".join(["python", "benchmarks/evidence.py", *sys.argv[1:]]),
            seeds=seeds,
            quick=args.quick,
            jobs=args.jobs,
            wall_seconds=time.perf_counter() - started,
            runs=len(runs),
            reused=sum(bool(record.get("reused")) for record in runs.values()),
            load_start=load_start,
            load_end=os.getloadavg()[0],
        )
        data = {"meta": info, "comparisons": comparisons, "stories": stories, "runs": runs}
        (stage / "evidence.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
        text = report(info, labs, comparisons, stories)
        (stage / "evidence.md").write_text(text)
        args.out.mkdir(parents=True, exist_ok=True)
        for path in sorted(stage.iterdir()):  # each file replaced whole, never half-written
            shutil.copyfile(path, args.out / f".{path.name}.tmp")
            os.replace(args.out / f".{path.name}.tmp", args.out / path.name)
    print(text)


if __name__ == "__main__":
    main()
