"""The claims as paired comparisons: (claim, baseline, arm A, arm B) over the same seeds.

Every function here takes a Lab and the seeds and returns a list of comparisons (see
`comparison`). B is the arm the reference recommends (or the technique), A what it
replaces; differences are B - A. Numbers are the held-out (valid) split's at the last
epoch, never --final's test split, so nothing is picked on what is reported -- except
"best single snapshot", which is picked on the valid split and so is flattered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from evidence_lab import Lab
from evidence_stats import paired, verdict

REFERENCE = "Father to Son: Part I"

# claim key -> (title, what the reference says, a paper's number where one is given)
CLAIMS: dict[str, tuple[str, str, str]] = {
    "dsd": ("Dense-Sparse-Dense", "DSD increases the model's capacity: better", ""),
    "snapshots": (
        "Snapshot ensemble",
        "ensemble the SGDR snapshots' predictions, weighting later snapshots more",
        "Huang et al. 2017: ensembles beat single models (e.g. CIFAR-10 ResNet-110 5.52% to "
        "5.32% error)",
    ),
    "switch": ("Optimizer switching", "switching Adam to SGD trains the most efficient models", ""),
    "adam": ("Adam and chill", "switch to Adam and chill", ""),
    "downsample": ("Stride-2 vs max-pool", "replace max-pools with stride-2 convolutions", ""),
    "bn_order": ("ReLU then BN", "use ReLU before, not after, BatchNorm", ""),
    "precision": ("Half precision", "fp16 barely affects accuracy, halves size, speeds up", ""),
    "nan": ("BatchNorm hides a bad input", "BatchNorm can hide a bad input while training", ""),
    "precompute": ("Pre-computation", "pre-compute frozen layers' outputs to train faster", ""),
    "ema": ("EMA of weights", "(training kit) an EMA of the weights beats the raw weights", ""),
    "swa": (
        "SWA",
        "(training kit) SWA beats the raw weights",
        "Izmailov et al. 2018: CIFAR-100 VGG-16 72.55% to 74.27% (SWA, 1.5 budgets)",
    ),
    "warmup": ("Warmup at a large lr", "(training kit) warmup stabilises a large rate", ""),
    "onnx": ("ONNX export", "(kit) the ONNX graph scores as the PyTorch model does", ""),
}


def comparison(
    claim: str,
    lab: Lab,
    a: str,
    a_values: Sequence[float],
    b: str,
    b_values: Sequence[float],
    metric: str,
    higher: bool = True,
    note: str = "",
) -> dict[str, Any]:
    """One paired comparison: the arms' numbers per seed, the interval of B - A, a verdict."""
    interval = paired(list(a_values), list(b_values))
    return {
        "claim": claim,
        "title": CLAIMS[claim][0],
        "reference": CLAIMS[claim][1],
        "paper": CLAIMS[claim][2],
        "baseline": f"{lab.baseline} ({lab.data_name})",
        "lab": lab.key,
        "a": a,
        "b": b,
        "metric": metric,
        "higher_is_better": higher,
        "a_values": list(a_values),
        "b_values": list(b_values),
        "interval": interval,
        "verdict": verdict(interval, higher),
        "note": note,
    }


def metric_of(lab: Lab) -> str:
    return "valid_psnr" if lab.baseline == "unet" else "valid_accuracy"


def last(runs: Sequence[dict], key: str) -> list[float]:
    return [run["summary"][key] for run in runs]


def claim_dsd(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    m = metric_of(lab)
    dense, dsd = lab.default(seeds), lab.arm("dsd", ["dsd.enabled=true"], seeds)
    return [comparison("dsd", lab, "dense", last(dense, m), "DSD", last(dsd, m), m)]


def claim_snapshots(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    """One SGDR run per seed: its snapshots' prediction ensemble (`ensemble`), their weight
    average (`average --snapshots`), its best single snapshot, and one ordinary run."""
    m = metric_of(lab)
    key = m.removeprefix("valid_")
    t0 = max(1, lab.epochs // 3)
    ordinary = lab.default(seeds)
    sgdr = lab.arm("sgdr", ["schedule.kind=sgdr", f"schedule.t0={t0}"], seeds)

    def both(run: dict) -> None:
        folder = Path(run["run_dir"])
        run["ensemble"] = lab.report_of(["ensemble", str(folder)], folder / "ensemble.json")
        run["average"] = lab.report_of(
            ["average", str(folder), "--snapshots"], folder / "averaged" / "report.json"
        )

    with ThreadPoolExecutor(lab.jobs) as pool:  # subprocesses: threads only wait
        list(pool.map(both, sgdr))
    ensemble = [run["ensemble"]["uniform"][key] for run in sgdr]
    average = [run["average"]["averaged"][key] for run in sgdr]
    best = [run["ensemble"]["best_single"][key] for run in sgdr]
    note = f"SGDR t0={t0}; the best snapshot is picked on the valid split (flattered)"
    ordinary_values = last(ordinary, m)
    return [
        comparison("snapshots", lab, "best snapshot", best, "prediction ensemble", ensemble, m,
                   note=note),
        comparison("snapshots", lab, "best snapshot", best, "weight average", average, m,
                   note=note),
        comparison("snapshots", lab, "weight average", average, "prediction ensemble", ensemble,
                   m, note=note),
        comparison("snapshots", lab, "one ordinary run", ordinary_values, "prediction ensemble",
                   ensemble, m, note="equal epochs: the same compute"),
    ]  # fmt: skip


def claim_switch(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    m = metric_of(lab)
    at = max(1, lab.epochs // 3)
    adam = last(lab.default(seeds), m)
    plan = lab.arm("plan", ["switch.mode=plan", f"switch.at_epoch={at}", "switch.lr=0.05"], seeds)
    swats = lab.arm("swats", ["switch.mode=swats"], seeds)
    sgd = lab.arm("sgd", ["optim.name=sgd", "optim.lr=0.05", "optim.momentum=0.9"], seeds)
    fired = sum(bool(r["summary"]["switch"]["switched"]) for r in swats)
    return [
        comparison("switch", lab, "Adam", adam, f"plan (SGD from epoch {at + 1})",
                   last(plan, m), m),
        comparison("switch", lab, "Adam", adam, "SWATS", last(swats, m), m,
                   note=f"SWATS switched in {fired} of {len(swats)} runs"),
        comparison("adam", lab, "SGD (lr 0.05, momentum 0.9)", last(sgd, m), "Adam", adam, m),
    ]  # fmt: skip


def claim_downsample(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if "downsample" not in lab.defaults.get("model", {}):
        return []
    m = metric_of(lab)
    stride = lab.default(seeds)
    pool = lab.arm("maxpool", ["model.downsample=maxpool"], seeds)
    speed = lab.speeds({"stride": [], "maxpool": ["model.downsample=maxpool"]})
    return [
        comparison("downsample", lab, "max-pool", last(pool, m), "stride-2", last(stride, m), m),
        comparison("downsample", lab, "max-pool", speed["maxpool"], "stride-2", speed["stride"],
                   "train samples/s", note="timing rounds pair the arms"),
    ]  # fmt: skip


def claim_bn_order(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if "bn_order" not in lab.defaults.get("model", {}):
        return []
    m = metric_of(lab)
    relu_bn = lab.default(seeds)
    bn_relu = lab.arm("bn_relu", ["model.bn_order=bn_relu"], seeds)
    return [
        comparison("bn_order", lab, "BN then ReLU", last(bn_relu, m), "ReLU then BN",
                   last(relu_bn, m), m)
    ]  # fmt: skip


def claim_precision(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    m = metric_of(lab)
    key = m.removeprefix("valid_")
    fp32 = lab.arm("fp32", ["precision.mode=fp32"], seeds)
    bf16 = lab.arm("bf16", ["precision.mode=bf16"], seeds)
    exports = []
    for run in fp32:
        folder = Path(run["run_dir"])
        run["export"] = lab.report_of(
            ["export", str(folder), "--half"], folder / "export" / "model-fp16.json"
        )
        exports.append(run["export"])
    ratio = exports[0]["fp16_bytes"] / exports[0]["fp32_bytes"]
    return [
        comparison("precision", lab, "fp32 training", last(fp32, m), "bf16 training",
                   last(bf16, m), m, note="bf16 autocast on the CPU"),
        comparison("precision", lab, "fp32 weights", [e[f"fp32_{key}"] for e in exports],
                   "fp16 weights", [e[f"fp16_{key}"] for e in exports], m,
                   note=f"file size fp16/fp32 = {ratio:.0%}; best checkpoint"),
    ]  # fmt: skip


def claim_precompute(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if "precompute" not in lab.defaults:
        return []
    on = ["precompute.layers=2", "precompute.cache=memory"]
    speed = lab.speeds({"off": [], "on": on})
    return [
        comparison("precompute", lab, "no pre-computation", speed["off"],
                   "first 2 layers frozen, outputs cached", speed["on"], "train samples/s",
                   note="speed only: frozen random layers cost accuracy")
    ]  # fmt: skip


def ema_half_life(decay: float, warmup: bool, steps: int) -> int | None:
    """How many of the last steps carry half the weight of an EMA after `steps` updates
    (with warmup, step t's decay is min(decay, (1+t)/(10+t)), as `average.warmup` does)."""
    weights = []
    remaining = 1.0
    for t in reversed(range(steps)):  # step t's share: (1 - d_t) times the later decays
        d = min(decay, (1 + t) / (10 + t)) if warmup else decay
        weights.append((1 - d) * remaining)
        remaining *= d
    total = sum(weights) + remaining  # `remaining`: the starting weights' share
    acc = 0.0
    for n, w in enumerate(weights, 1):
        acc += w
        if acc >= total / 2:
            return n
    return None  # the starting weights keep more than half


def claim_averaging(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    """EMA (default decay) and SWA (from the last quarter's first epoch) against the raw
    weights of the same run, at the last epoch."""
    m = metric_of(lab)
    avg = "avg_" + m
    ema = lab.arm("ema", ["average.kind=ema"], seeds)
    start = max(1, lab.epochs - lab.epochs // 4)
    swa = lab.arm("swa", ["average.kind=swa", f"average.start_epoch={start}"], seeds)
    average = lab.defaults.get("average", {})
    decay, warmup = average.get("decay", 0.999), average.get("warmup", False)
    steps = lab.epochs * math.ceil(lab.data["sizes"]["train"] / lab.batch_size)
    half = ema_half_life(decay, warmup, steps)
    rule = f"min({decay:g}, (1+t)/(10+t))" if warmup else f"{decay:g}"
    kept = f"decay {rule}; " + (
        f"half the EMA's weight is on the last {half} of {steps} steps"
        if half
        else f"over {steps} steps the starting weights keep over half of it"
    )

    def column(runs: Sequence[dict], key: str) -> list[float]:
        return [run["history"][-1][key] for run in runs]

    return [
        comparison("ema", lab, "raw weights", column(ema, m), "EMA", column(ema, avg), m,
                   note=f"same run; {kept}"),
        comparison("swa", lab, "raw weights", column(swa, m), "SWA", column(swa, avg), m,
                   note=f"same run; SWA from epoch {start}, schedule kept"),
    ]  # fmt: skip


def claim_warmup(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    m = metric_of(lab)
    lr = 10 * lab.lr
    warm = max(1, lab.epochs // 10)
    none = lab.arm("lr10", [f"optim.lr={lr:g}"], seeds)
    warmup = lab.arm("lr10-warmup", [f"optim.lr={lr:g}", f"schedule.warmup_epochs={warm}"], seeds)

    def finite(runs: Sequence[dict]) -> list[float]:  # a diverged run scores 0
        return [x if math.isfinite(x) else 0.0 for x in last(runs, m)]

    return [
        comparison("warmup", lab, f"lr {lr:g}, no warmup", finite(none),
                   f"lr {lr:g}, {warm}-epoch warmup", finite(warmup), m,
                   note=f"10x the default rate {lab.lr:g}")
    ]  # fmt: skip


def onnx_accuracy(lab: Lab, run: dict) -> tuple[float, float]:
    """The run's best checkpoint on the whole valid split: PyTorch's and onnxruntime's
    accuracy (after `export RUN --format onnx`)."""
    import numpy as np
    import onnxruntime
    import torch

    folder = Path(run["run_dir"])
    report = lab.report_of(["export", str(folder), "--format", "onnx"], folder / "export" /
                           "model.onnx.json")  # fmt: skip
    run["onnx"] = report
    opened = lab.module("runs").open_run(folder, "best", torch.device("cpu"))
    x, y = opened.pair("valid")
    session = onnxruntime.InferenceSession(report["out"], providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    with torch.no_grad():
        torch_pred = torch.cat([opened.model(x[i : i + 256]) for i in range(0, len(x), 256)])
    onnx_pred = np.concatenate(
        [session.run(None, {name: x[i : i + 256].numpy()})[0] for i in range(0, len(x), 256)]
    )
    truth = y.numpy()
    torch_acc = float((torch_pred.argmax(1).numpy() == truth).mean())
    onnx_acc = float((onnx_pred.argmax(1) == truth).mean())
    run["onnx"]["max_abs_difference_valid"] = float(np.abs(onnx_pred - torch_pred.numpy()).max())
    return torch_acc, onnx_acc


def claim_onnx(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if lab.baseline == "unet":
        return []
    runs = lab.default(seeds)
    pairs = [onnx_accuracy(lab, run) for run in runs]
    worst = max(run["onnx"]["max_abs_difference_valid"] for run in runs)
    return [
        comparison("onnx", lab, "PyTorch", [p[0] for p in pairs], "ONNX (onnxruntime)",
                   [p[1] for p in pairs], "valid_accuracy",
                   note=f"best checkpoint; largest logit difference {worst:.2g}")
    ]  # fmt: skip


Claim = Callable[[Lab, Sequence[int]], list[dict]]
CLAIM_RUNNERS: dict[str, Claim] = {
    "dsd": claim_dsd,
    "snapshots": claim_snapshots,
    "switch": claim_switch,
    "downsample": claim_downsample,
    "bn_order": claim_bn_order,
    "precision": claim_precision,
    "precompute": claim_precompute,
    "averaging": claim_averaging,
    "warmup": claim_warmup,
    "onnx": claim_onnx,
}
