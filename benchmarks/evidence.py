"""Evidence: do the reference's claims hold on our baselines? Paired comparisons over seeds.

    python benchmarks/evidence.py                      # every lab and its claims, seeds 0..4
    python benchmarks/evidence.py --labs cnn-digits --only averaging warmup
    python benchmarks/evidence.py --quick --out /tmp/ev  # every arm, tiny sizes, 2 seeds
    nox -s evidence

The reference is "Father to Son: Part I". Each claim becomes one or more comparisons
(claim, baseline, arm A, arm B): both arms train the baseline's default config, changed
only by the technique, with the same seeds and the same data, so each seed is a pair
(evidence_lab.py says what a pair is scored on in each kind of lab). A comparison reports
the mean paired difference B - A with a 95% Student-t interval over the pairs, and calls
an effect ("helps", "hurts") only when the interval excludes 0 (evidence_stats.py); the
claims are in evidence_claims.py, the BatchNorm/NaN one in evidence_nan.py, the data
generators in evidence_data.py, the held-out photographs' PSNR in evidence_photos.py. A
lab is a baseline on one data set (LABS); `--quick` runs every lab's every arm with 3
epochs, 128 training samples and seeds 0 1, for tests.

Sizes, chosen so that the whole default command (`nox -s evidence`: 2 runs at a time, one
torch thread each) fits in 60 minutes on this 2-core machine; the report's `- wall time:`
line says what it took. Every run is forked from a server that has imported torch once
(evidence_fork.py): a digits run is 3 s of training after 8 s of imports in a new process,
so forking is what lets every claim run on every baseline within the budget.

- cnn-digits: 5 repeats (seeds 0-4) of stratified 2-fold cross-validation of the 1,797
  digits, 6 epochs; each (repeat, fold) is a pair, 10 pairs, every image tested once per
  repeat. The two folds of a repeat share no training and no test image; pairs of
  different repeats do share images, so the interval is, if anything, too narrow. Every
  claim but the ONNX check.
- cnn-shapes: 4,000 generated 16x16 RGB shapes (2,560 train, 640 valid), 6 epochs (about
  0.6 valid accuracy: far from saturated), random valid split per seed; the architecture
  claims (stride-2 vs max-pool, ReLU/BN order), which the 8x8 digits barely exercise.
- resnet_dw-digits: the same 5x2 folds, 8 epochs; every claim that applies (all but
  stride-2 vs max-pool, an option of the cnn alone).
- lstm-mnist1d: MNIST-1D made with the paper's 4,000 training samples and 8,000 test
  samples (the paper's test split has 1,000), final mode, 4 epochs, seeds 0-4.
- unet-photos: 14 photographs to train on (shrunk by 2, 128 random patches of 32x32 per
  run, a 5% valid split), 3 epochs, seeds 0-4, scored on 4 whole held-out photographs.

The lstm and the unet get SEQUENCE_CLAIMS: they have no BatchNorm (so no BN order and no
planted-glitch comparison), no stride-2 option, and `precompute.layers` needs an
nn.Sequential to cut, which neither is. bf16 training of the LSTM is refused by the
project on a CPU without native bf16 (this one), and the unet's is left out on such a CPU:
its bf16 convolutions are emulated there, and a unet run took 196 s in bf16 against 19 s
in fp32 (measured here, 2026-12-03), so its five pairs alone would take about 16 of the 60
minutes. The report lists both as not measured; with AMX both run.
The ONNX check (`--only onnx`) is not one of the reference's claims and is left out of
the default command; the planted NaN runs on the two digits labs.

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
from evidence_lab import ROOT, THREADS, Lab, scores  # noqa: E402
from evidence_nan import claim_nan  # noqa: E402
from evidence_stats import METHOD, interval_text, mean_text, pair_plot  # noqa: E402

ALL = ["averaging", "warmup", "onnx", "snapshots", "dsd", "switch", "downsample", "bn_order",
       "precision", "precompute", "nan"]  # fmt: skip
# the claims that apply to a model with no BatchNorm and no nn.Sequential to cut (the lstm
# and the unet): no BN order, no planted-glitch BN comparison, no stride-2 option, and
# `precompute.layers` refuses a model that is not an nn.Sequential
SEQUENCE_CLAIMS = ["averaging", "warmup", "snapshots", "dsd", "switch", "precision"]
# lab -> baseline, data description, claims, epochs, and how its data is made and held out:
# `folds` (repeated k-fold of the default data, repeats = seeds), `final` (scored on the
# data's own test split), `photos` (the held-out photographs' folder), `settings` (every
# run's extra --set), `make` (folder, quick -> the data.source it wrote)
LABS: dict[str, dict[str, Any]] = {
    "cnn-digits": {
        "baseline": "cnn",
        "data": "digits, 5x2-fold",
        "claims": [c for c in ALL if c != "onnx"],
        "epochs": 6,
        "folds": 2,
        "repeats": 5,
    },
    "cnn-shapes": {
        "baseline": "cnn",
        "data": "shapes 16x16 RGB, 4000",
        "claims": ["downsample", "bn_order"],
        "epochs": 6,
        "make": lambda folder, quick: evidence_data.write_shapes(
            folder / "shapes.npz", 600 if quick else 4000, 16
        ),
    },
    "resnet_dw-digits": {
        "baseline": "resnet_dw",
        "data": "digits, 5x2-fold",
        "claims": [c for c in ALL if c not in ("onnx", "downsample")],
        "epochs": 8,
        "folds": 2,
        "repeats": 5,
    },
    "lstm-mnist1d": {
        "baseline": "lstm",
        "data": "MNIST-1D, 4000 train, 8000 test",
        "claims": SEQUENCE_CLAIMS,
        "epochs": 4,
        "final": True,
        "make": lambda folder, quick: evidence_data.write_mnist1d(
            folder / "mnist1d.npz", *((400, 400) if quick else (4000, 8000))
        ),
    },
    "unet-photos": {
        "baseline": "unet",
        "data": "sklearn + skimage photos, 4 held out whole",
        "claims": SEQUENCE_CLAIMS,
        "epochs": 3,
        "settings": ["data.subset=128", "data.valid_fraction=0.05"],
        "make": lambda folder, quick: _photos(folder, quick),
        "photos": lambda folder: folder / "held-out",
        "emulated_bf16_too_slow": True,  # 196 s a run against 19 s in fp32 here
    },
}
JOBS = 2  # runs at once, one torch thread each: the 2-core machine's budget
QUICK = {"epochs": 3, "seeds": [0, 1], "subset": 128}  # 3: DSD needs 3 phases


def _photos(folder: Path, quick: bool) -> Path:
    evidence_data.write_photos(
        folder / "photos",
        limit=3 if quick else 0,
        shrink=4 if quick else 2,
        held=evidence_data.HELD_OUT[1:2] if quick else evidence_data.HELD_OUT,
        held_folder=folder / "held-out",
    )
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
    fork: bool = True,
) -> tuple[Lab, list[dict], dict[str, Any]]:
    spec = LABS[name]
    base: list[str] = []
    made = where / f"data-{name}"
    if "make" in spec:
        made.mkdir(parents=True, exist_ok=True)
        base.append(f"data.source={spec['make'](made, quick)}")
    base += spec.get("settings", [])
    if spec.get("final"):
        base.append("train.final=true")
    if quick:
        base.append(f"data.subset={QUICK['subset']}")
    epochs = QUICK["epochs"] if quick else epochs or spec.get("epochs")
    photos = spec["photos"](made) if "photos" in spec else None
    lab = Lab(
        where, name, spec["baseline"], spec["data"], epochs, base, jobs, threads,
        folds=spec.get("folds", 0), final=spec.get("final", False), photos=photos,
        repeats=spec.get("repeats", 0), fork=fork,
    )  # fmt: skip
    lab.emulated_bf16_too_slow = spec.get("emulated_bf16_too_slow", False)
    comparisons: list[dict] = []
    stories: dict[str, Any] = {}
    try:
        for claim in spec["claims"]:
            if only and claim not in only:
                continue
            print(f"{name}: {claim}", flush=True)
            try:
                if claim == "nan":
                    found, stories.setdefault("nan", {})[name] = claim_nan(lab, seeds)
                else:
                    found = CLAIM_RUNNERS[claim](lab, seeds)
            except (Exception, SystemExit) as err:  # one claim's failure is reported, not fatal
                lines = [line for line in str(err).splitlines() if line.strip()]
                told = f"{name}, {claim}: {' / '.join(lines[-3:])}"
                stories.setdefault("failed", []).append(told)
                print(f"{name}: {claim} FAILED: {err}", flush=True)
                continue
            comparisons += found
    finally:
        lab.close()
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


PAPER = {
    "lstm": "; the MNIST-1D paper at the same 4,000 training samples: CNN 0.94, GRU 0.91 test "
    "accuracy (Greydanus 2020, its 1,000 test samples)"
}


def baseline_line(lab: Lab) -> str:
    """The default config's own number on this lab's data, beside a paper's where known."""
    pairs, which = lab.pairs.get("default"), ""
    if not pairs and lab.pairs.get("ema"):  # EMA kept aside: the default config's raw weights
        pairs, which = lab.pairs["ema"], " (the raw weights of the EMA arm's runs)"
    if not pairs:
        return f"- the default config was not trained in this command ({lab.metric})"
    text = f"- the default config's {lab.metric}{which}: {mean_text(scores(pairs))}"
    if lab.photos is not None:
        text += f"; the noisy photos themselves score {mean_text(scores(pairs, 'noisy'))}"
    return text + PAPER.get(lab.baseline, "")


def held_out_line(lab: Lab) -> str:
    """What a run of this lab is scored on."""
    sizes = lab.data["sizes"]
    if lab.folds:
        total = sum(sizes.values())
        return (
            f"- scored on: {lab.folds}-fold cross-validation of all {total} samples, repeated "
            f"for the first {lab.repeats or 'all'} seeds (stratified folds shuffled with the "
            "seed); each (repeat, fold) is one pair: a final-mode run per "
            f"arm on the other folds (about {total * (lab.folds - 1) // lab.folds} samples), "
            "scored on its fold, so every sample is tested once per repeat"
        )
    if lab.photos is not None:
        names = ", ".join(sorted(p.stem for p in lab.photos.glob("*.png")))
        return (
            f"- scored on: whole photographs no run trained on ({names}), noisy with a fixed "
            "seed, denoised in one pass, PSNR over every pixel (evidence_photos.py); split "
            "sizes of the training photos' patches: "
            + ", ".join(f"{k} {v}" for k, v in sizes.items())
        )
    if lab.final:
        return (
            "- scored on: the data's own test split, after training in final mode on all of "
            "its training split; split sizes: "
            + ", ".join(f"{k} {v}" for k, v in sizes.items())
            + " (final mode trains on train + valid)"
        )
    listed = ", ".join(f"{k} {v}" for k, v in sizes.items())
    return f"- scored on: a random valid split, its seed the pair's seed; split sizes: {listed}"


HEADER = ["claim", "baseline (data)", "B vs A", "metric", "A", "B", "B - A [95% CI]", "verdict",
          "the reference (and a paper)"]  # fmt: skip


def report(info: dict[str, Any], labs: dict[str, Lab], comparisons: list[dict], stories) -> str:
    lines = [
        "# Evidence: the reference's claims on our baselines, in pairs",
        "",
        "Each comparison trains arm A and arm B with the same seeds and splits; a cell A or "
        "B reads `mean (min..max)` over the pairs (a seed, or a (repeat, fold) of a k-fold "
        "lab), and `B - A` is the mean paired difference with its 95% interval "
        f"({METHOD}: Student's t over the per-pair differences). "
        "The verdict is `helps` or `hurts` only when the interval excludes 0, otherwise "
        "`no effect found at this size`; for losses lower is better, for everything else "
        "higher. Each lab says what its runs are scored on: the test folds of a repeated "
        "k-fold, a test split, whole held-out photographs, or a random valid split; a "
        "number is the last epoch's weights' (or the run's weight average's) "
        "(`benchmarks/evidence.py`).",
        "",
        f"- machine: {info['machine']}; torch {info['torch']}, {info['torch_threads']} threads "
        f"per run; Python {info['python']}",
        f"- date: {info['date']}",
        f"- command: `{info['command']}`",
        f"- wall time: {info['wall_seconds']:.0f} s ({info['wall_seconds'] / 60:.1f} min) for "
        f"{info['runs']} training runs, {info['jobs']} at a time, {info.get('reused', 0)} of "
        f"them reused from `--work`; load average (1 min) at start {info['load_start']:.2f}, "
        f"at end {info['load_end']:.2f}"
        + (" (--quick: tiny sizes, not evidence)" if info["quick"] else ""),
        f"- seeds: {', '.join(map(str, info['seeds']))}; interval: {METHOD}",
        "",
        "## Summary",
        "",
        markdown_table(HEADER, summary_rows(comparisons)),
        "",
    ]
    missing = [f"- {lab.baseline} ({lab.data_name}): {line}" for lab in labs.values()
               for line in lab.unmeasured]  # fmt: skip
    if missing:
        lines += ["Claims that apply but could not be measured on this machine:", "", *missing, ""]
    for key, lab in labs.items():
        rows = [c for c in comparisons if c["lab"] == key]
        claims = ", ".join(LABS[key]["claims"])
        lines += [
            f"## {key}: {lab.baseline} on {lab.data_name}",
            "",
            f"- epochs {lab.epochs}, batch {lab.batch_size}, lr {lab.lr:g}; claims: {claims}",
            held_out_line(lab),
            f"- settings every run has: {' '.join(f'`{s}`' for s in lab.base) or 'none'}",
            baseline_line(lab),
            *(f"- not measured here: {line}" for line in lab.unmeasured),
            "",
            markdown_table(
                [
                    "claim",
                    "B vs A",
                    "metric",
                    "per-pair B - A",
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
    for key, story in stories.get("nan", {}).items():
        lab = labs[key]
        lines += [f"## The planted NaN ({lab.baseline}, {lab.data_name})", "", story["text"], ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--labs", nargs="+", choices=list(LABS), metavar="LAB",
                        help=f"only these labs: {', '.join(LABS)}")  # fmt: skip
    parser.add_argument("--only", nargs="+", choices=ALL, metavar="CLAIM",
                        help=f"only these claims: {', '.join(ALL)}")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="every arm, tiny sizes, 2 seeds")
    parser.add_argument("--jobs", type=int, default=JOBS, help="training runs at once")
    parser.add_argument("--epochs", type=int, help="every lab's epochs (default: each lab's)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument(
        "--no-fork", dest="fork", action="store_false",
        help="start each run as a new Python process (default: forked from a server that has "
        "imported torch once; the same numbers, 8 s less a run)",
    )  # fmt: skip
    parser.add_argument(
        "--work", type=Path, help="keep projects and runs here; finished runs are reused"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    seeds = QUICK["seeds"] if args.quick else args.seeds
    import torch  # scores computed here (k-fold averages, held-out photos): the runs' threads

    torch.set_num_threads(args.threads)
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
                    args.threads, args.fork,
                )  # fmt: skip
            except (Exception, SystemExit) as err:  # a lab that cannot start: reported
                stories.setdefault("failed", []).append(f"{name}: {str(err)[-300:]}")
                continue
            labs[name] = lab
            stories["failed"] = stories.get("failed", []) + told.pop("failed", [])
            for story, value in told.items():  # per-lab stories (the NaN's) merge by lab
                if isinstance(value, dict):
                    stories.setdefault(story, {}).update(value)
                else:
                    stories[story] = value
            comparisons += found
            if found:
                pair_plot(stage / f"evidence-{name}.png", f"{name}: each pair", found)
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
        stories["unmeasured"] = {k: lab.unmeasured for k, lab in labs.items() if lab.unmeasured}
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
