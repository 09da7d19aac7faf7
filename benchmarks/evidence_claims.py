"""The claims as paired comparisons: (claim, baseline, arm A, arm B) over the same seeds.

Every function here takes a Lab and the seeds and returns a list of comparisons (see
`comparison`). B is the arm the reference recommends (or the technique), A what it
replaces; differences are B - A. Numbers are each run's `scores` (evidence_lab.py): the
last epoch's weights (or the run's weight average) on the lab's held-out data -- a random
valid split, a test split, the test folds of a repeated k-fold, or whole held-out
photographs. Nothing is picked on what is reported except "best single snapshot", which
is picked on the split it is scored on and so is flattered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from evidence_lab import Lab, members, per_pair, scores
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
    return lab.metric


def claim_dsd(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    m = metric_of(lab)
    arms = lab.arms({"default": [], "dsd": ["dsd.enabled=true"]}, seeds)
    return [comparison("dsd", lab, "dense", scores(arms["default"]), "DSD",
                       scores(arms["dsd"]), m)]  # fmt: skip


def claim_snapshots(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    """One SGDR run per pair: its snapshots' prediction ensemble (the `ensemble` command's
    default weighting, linear: later snapshots count more), their weight average (BatchNorm
    statistics recomputed, as `average --snapshots` does), its best single snapshot, and one
    ordinary run of the same epochs; all on the lab's held-out data (the `ensemble` report
    on the run's held-out split, or the held-out photographs for the unet)."""
    m = metric_of(lab)
    key = lab.key_metric
    t0 = max(1, lab.epochs // 3)
    arms = lab.arms({"default": [], "sgdr": ["schedule.kind=sgdr", f"schedule.t0={t0}"]}, seeds)
    sgdr = arms["sgdr"]

    def both(run: dict) -> None:
        folder = Path(run["run_dir"])
        report = lab.report_of(["ensemble", str(folder)], folder / "ensemble.json")
        if lab.photos is not None:
            from evidence_photos import snapshot_scores

            run["snapshot_scores"] = snapshot_scores(lab, folder, report["scheme"])
        else:
            run["snapshot_scores"] = {
                "weighted": report["weighted"][key],
                "weights_averaged": report["weights_averaged"][key],
                "best_single": report["best_single"][key],
                "snapshots": [row[key] for row in report["snapshots"]],
                "scheme": report["scheme"],
            }

    with ThreadPoolExecutor(lab.jobs) as pool:  # subprocesses: threads only wait
        list(pool.map(both, members(sgdr)))
    ensemble = per_pair(sgdr, lambda run: run["snapshot_scores"]["weighted"])
    average = per_pair(sgdr, lambda run: run["snapshot_scores"]["weights_averaged"])
    best = per_pair(sgdr, lambda run: run["snapshot_scores"]["best_single"])
    count = len(members(sgdr)[0]["snapshot_scores"]["snapshots"])
    scheme = members(sgdr)[0]["snapshot_scores"]["scheme"]
    picked = "the test fold" if lab.folds else "the test split" if lab.final else "the valid split"
    if lab.photos is not None:
        picked = "the held-out photos"
    note = (
        f"SGDR t0={t0}: {count} snapshots, ensemble weights {scheme}; the best snapshot is "
        f"picked on {picked}, the data scored (flattered)"
    )
    ordinary_values = scores(arms["default"])
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
    arms = lab.arms(
        {
            "default": [],
            "plan": ["switch.mode=plan", f"switch.at_epoch={at}", "switch.lr=0.05"],
            "swats": ["switch.mode=swats"],
            "sgd": ["optim.name=sgd", "optim.lr=0.05", "optim.momentum=0.9"],
        },
        seeds,
    )
    adam = scores(arms["default"])
    runs = members(arms["swats"])
    fired = sum(bool(r["summary"]["switch"]["switched"]) for r in runs)
    return [
        comparison("switch", lab, "Adam", adam, f"plan (SGD from epoch {at + 1})",
                   scores(arms["plan"]), m),
        comparison("switch", lab, "Adam", adam, "SWATS", scores(arms["swats"]), m,
                   note=f"SWATS switched in {fired} of {len(runs)} runs"),
        comparison("adam", lab, "SGD (lr 0.05, momentum 0.9)", scores(arms["sgd"]), "Adam", adam,
                   m),
    ]  # fmt: skip


def claim_downsample(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if "downsample" not in lab.defaults.get("model", {}):
        return []
    m = metric_of(lab)
    arms = lab.arms({"default": [], "maxpool": ["model.downsample=maxpool"]}, seeds)
    speed = lab.speeds({"stride": [], "maxpool": ["model.downsample=maxpool"]})
    return [
        comparison("downsample", lab, "max-pool", scores(arms["maxpool"]), "stride-2",
                   scores(arms["default"]), m),
        comparison("downsample", lab, "max-pool", speed["maxpool"], "stride-2", speed["stride"],
                   "train samples/s", note="timing rounds pair the arms; default split"),
    ]  # fmt: skip


def claim_bn_order(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if "bn_order" not in lab.defaults.get("model", {}):
        return []
    m = metric_of(lab)
    arms = lab.arms({"default": [], "bn_relu": ["model.bn_order=bn_relu"]}, seeds)
    return [
        comparison("bn_order", lab, "BN then ReLU", scores(arms["bn_relu"]), "ReLU then BN",
                   scores(arms["default"]), m)
    ]  # fmt: skip


def claim_precision(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    """bf16 training vs fp32 (accuracy), and the fp32 run's best weights stored in fp16
    (accuracy and file size). A model the project refuses to train in bf16 on this CPU
    (the LSTM: oneDNN needs native bf16) gets the fp16 comparison alone, and the refusal
    goes to the report's list of what was not measured."""
    m = metric_of(lab)
    key = lab.key_metric
    bf16 = ["precision.mode=bf16"]
    configs: dict[str, list[str]] = {"default": []}
    import torch

    if lab.emulated_bf16_too_slow and not lab.module("precision")._bf16_native(torch.device("cpu")):
        lab.unmeasured.append(
            "bf16 training vs fp32: left out on a CPU without native bf16 (no AMX), where "
            f"{lab.baseline}'s bf16 convolutions are emulated and train about 10 times slower "
            "than fp32, more than the budget holds (evidence.py's docstring)"
        )
    else:
        fold = 0 if lab.folds else None
        probe = lab.train("bf16", bf16, seeds[0], expect_failure=True, fold=fold)
        if probe["returncode"] == 0:
            configs["bf16"] = bf16
        else:
            refused = f"bf16 training vs fp32: the project refused it: {probe['error']}"
            lab.unmeasured.append(refused)
    arms = lab.arms(configs, seeds)
    fp32, name = arms["default"], "default"
    if any(run["summary"].get("precision") != "fp32" for run in members(fp32)):
        fp32, name = lab.arm("fp32", ["precision.mode=fp32"], seeds), "precision.mode=fp32"

    def export(run: dict) -> None:
        folder = Path(run["run_dir"])
        run["export"] = lab.report_of(
            ["export", str(folder), "--half"], folder / "export" / "model-fp16.json"
        )

    with ThreadPoolExecutor(lab.jobs) as pool:  # subprocesses: threads only wait
        list(pool.map(export, members(fp32)))
    if lab.photos is not None:  # the held-out photographs' PSNR, fp32 best vs its fp16 file
        from evidence_photos import weights_psnr

        for run in members(fp32):
            folder = Path(run["run_dir"])
            run["export"][f"fp32_{key}"] = weights_psnr(lab, folder, folder / "checkpoints" /
                                                        "best.pt")  # fmt: skip
            run["export"][f"fp16_{key}"] = weights_psnr(lab, folder, Path(run["export"]["out"]))
    first = members(fp32)[0]["export"]
    ratio = first["fp16_bytes"] / first["fp32_bytes"]
    trained = []
    if "bf16" in arms:
        note = f"bf16 autocast on the CPU; fp32: the {name} arm"
        trained.append(comparison("precision", lab, "fp32 training", scores(fp32),
                                  "bf16 training", scores(arms["bf16"]), m, note=note))  # fmt: skip
    return trained + [
        comparison("precision", lab, "fp32 weights", per_pair(fp32, lambda r: r["export"][
                   f"fp32_{key}"]), "fp16 weights", per_pair(fp32, lambda r: r["export"][
                   f"fp16_{key}"]), m, note=f"file size fp16/fp32 = {ratio:.0%}; best checkpoint"),
    ]  # fmt: skip


def claim_precompute(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if "precompute" not in lab.defaults:
        return []
    on = ["precompute.layers=2", "precompute.cache=memory"]
    speed = lab.speeds({"off": [], "on": on})
    return [
        comparison("precompute", lab, "no pre-computation", speed["off"],
                   "first 2 layers frozen, outputs cached", speed["on"], "train samples/s",
                   note="speed only: frozen random layers cost accuracy; default split")
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
    """EMA (default decay) and SWA (over the last quarter's epochs, at least the last two)
    against the raw weights of the same run, at the last epoch."""
    m = metric_of(lab)
    start = max(1, lab.epochs - max(1, lab.epochs // 4))
    arms = lab.arms(
        {
            "ema": ["average.kind=ema"],
            "swa": ["average.kind=swa", f"average.start_epoch={start}"],
        },
        seeds,
    )
    ema, swa = arms["ema"], arms["swa"]
    average = lab.defaults.get("average", {})
    decay, warmup = average.get("decay", 0.999), average.get("warmup", False)
    sizes = lab.data["sizes"]  # with data.subset applied to train
    train = sizes["train"] + (sizes.get("valid", 0) if lab.final and not lab.folds else 0)
    if lab.folds:  # the other folds (final mode: train + valid), about
        train = round(sum(sizes.values()) * (lab.folds - 1) / lab.folds)
        subset = [int(s.split("=")[1]) for s in lab.base if s.startswith("data.subset=")]
        train = min([train, *subset])
    steps = lab.epochs * math.ceil(train / lab.batch_size)
    half = ema_half_life(decay, warmup, steps)
    rule = f"min({decay:g}, (1+t)/(10+t))" if warmup else f"{decay:g}"
    kept = f"decay {rule}; " + (
        f"half the EMA's weight is on the last {half} of {steps} steps"
        if half
        else f"over {steps} steps the starting weights keep over half of it"
    )
    return [
        comparison("ema", lab, "raw weights", scores(ema), "EMA", scores(ema, "averaged"), m,
                   note=f"same run; {kept}"),
        comparison("swa", lab, "raw weights", scores(swa), "SWA", scores(swa, "averaged"), m,
                   note=f"same run; SWA from epoch {start}, schedule kept"),
    ]  # fmt: skip


def claim_warmup(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    m = metric_of(lab)
    lr = 10 * lab.lr
    warm = max(1, lab.epochs // 10)
    arms = lab.arms(
        {
            "lr10": [f"optim.lr={lr:g}"],
            "lr10-warmup": [f"optim.lr={lr:g}", f"schedule.warmup_epochs={warm}"],
        },
        seeds,
    )

    def finite(pairs: Sequence[dict]) -> list[float]:  # a diverged run scores 0
        return [x if math.isfinite(x) else 0.0 for x in scores(pairs)]

    return [
        comparison("warmup", lab, f"lr {lr:g}, no warmup", finite(arms["lr10"]),
                   f"lr {lr:g}, {warm}-epoch warmup", finite(arms["lr10-warmup"]), m,
                   note=f"10x the default rate {lab.lr:g}; a diverged run scores 0")
    ]  # fmt: skip


def onnx_accuracy(lab: Lab, run: dict) -> tuple[float, float]:
    """The run's best checkpoint on its held-out split (valid, or test in final mode):
    PyTorch's and onnxruntime's accuracy (after `export RUN --format onnx`)."""
    import numpy as np
    import onnxruntime
    import torch

    folder = Path(run["run_dir"])
    report = lab.report_of(["export", str(folder), "--format", "onnx"], folder / "export" /
                           "model.onnx.json")  # fmt: skip
    run["onnx"] = report
    opened = lab.module("runs").open_run(folder, "best", torch.device("cpu"))
    x, y = opened.pair()
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
    run["onnx"]["max_abs_difference"] = float(np.abs(onnx_pred - torch_pred.numpy()).max())
    run["onnx"]["accuracy"] = (torch_acc, onnx_acc)
    return torch_acc, onnx_acc


def claim_onnx(lab: Lab, seeds: Sequence[int]) -> list[dict]:
    if lab.baseline == "unet":
        return []
    pairs = lab.default(seeds)
    for run in members(pairs):
        onnx_accuracy(lab, run)
    worst = max(run["onnx"]["max_abs_difference"] for run in members(pairs))
    return [
        comparison("onnx", lab, "PyTorch", per_pair(pairs, lambda r: r["onnx"]["accuracy"][0]),
                   "ONNX (onnxruntime)", per_pair(pairs, lambda r: r["onnx"]["accuracy"][1]),
                   lab.metric, note=f"best checkpoint; largest logit difference {worst:.2g}")
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
