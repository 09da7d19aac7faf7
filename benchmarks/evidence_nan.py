"""BatchNorm and a planted bad input (a digits lab: cnn, resnet_dw): the NaN guard, a glitch.

The default digits are written to a .npz with one pixel of one training image set to NaN
or to OUTLIER (clean pixels lie in [0, 1]); the image is one that lands in the training
split for every seed's split. With the guard on, a NaN run should stop naming the layer
that produced it; without it, the NaN runs show what happens. The finite glitch is
compared in pairs: BatchNorm on vs off, by the gap between the training pass's accuracy
(train mode) and valid accuracy, the "everything works but it does not converge" of the
reference (on random valid splits, the seed as split seed, in a k-fold lab too); and on
clean data BatchNorm on vs off by the lab's score (the test folds in a k-fold lab).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evidence_claims import comparison
from evidence_lab import Lab, scores

OUTLIER = 1e4


def planted_data(folder: Path, value: float, seeds: Sequence[int]) -> tuple[Path, int]:
    """The default digits as a .npz with `value` planted in one pixel of one training image.

    data.py carves the test split off with seed 12345 and the valid split with the split
    seed, both stratified by label; the image is in the training split for every seed.
    """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None]  # as the project's dataset.py
    y = digits.target.astype(np.int64)
    rest, _ = train_test_split(np.arange(len(y)), test_size=0.2, random_state=12345, stratify=y)
    common = set(rest.tolist())
    for seed in seeds:
        train, _ = train_test_split(rest, test_size=0.2, random_state=seed, stratify=y[rest])
        common &= set(train.tolist())
    image = min(common)
    x[image, 0, 4, 4] = value
    path = folder / ("digits-nan.npz" if math.isnan(value) else f"digits-{value:g}.npz")
    np.savez(path, x=x, y=y)
    return path, image


def claim_nan(lab: Lab, seeds: Sequence[int]) -> tuple[list[dict], dict[str, Any]]:
    """The paired comparisons and the guard's story (text and raw numbers)."""
    folder = lab.where / "planted"
    folder.mkdir(exist_ok=True)
    nan_file, image = planted_data(folder, float("nan"), seeds)
    big_file, _ = planted_data(folder, OUTLIER, seeds)
    nan, big, off = f"data.source={nan_file}", f"data.source={big_file}", "model.batchnorm=false"
    short = f"train.epochs={min(3, lab.epochs)}"
    seed = seeds[0]
    guarded = {
        "on": lab.train("nan-guard-bn", [nan], seed, expect_failure=True),
        "off": lab.train("nan-guard-nobn", [nan, off], seed, expect_failure=True),
    }
    unguarded = {
        "on": lab.train("nan-noguard-bn", [nan, "train.nan_guard=false", short], seed),
        "off": lab.train("nan-noguard-nobn", [nan, "train.nan_guard=false", short, off], seed),
    }
    clean = lab.arms({"default": [], "clean-nobn": [off]}, seeds)
    clean_on, clean_off = clean["default"], clean["clean-nobn"]
    glitch = lab.arms({"big-bn": [big], "big-nobn": [big, off]}, seeds, plain=True)
    big_on, big_off = glitch["big-bn"], glitch["big-nobn"]

    def gap(runs: Sequence[dict]) -> list[float]:
        return [r["summary"]["train_accuracy"] - r["summary"]["valid_accuracy"] for r in runs]

    def acc(runs: Sequence[dict]) -> list[float]:
        return [r["summary"]["valid_accuracy"] for r in runs]

    def plain_note() -> str:
        return "" if not lab.folds else "; random valid splits (seed = split seed), not folds"

    comparisons = [
        comparison("nan", lab, "glitch, no BN", gap(big_off), "glitch, BN", gap(big_on),
                   "train acc - valid acc", note=f"one pixel = {OUTLIER:g} in training image "
                   f"{image}; 'helps' = BN hid the glitch more (the claim held)" + plain_note()),
        comparison("nan", lab, "clean, no BN", scores(clean_off), "clean, BN", scores(clean_on),
                   lab.metric, note="BatchNorm itself, on clean data"),
    ]  # fmt: skip
    stops = [run.get("error", "") for run in guarded.values()]
    pattern = r"Non-finite loss (at epoch \d+, step \d+): first produced by (.+?)\. "
    found = [re.search(pattern, e) for e in stops]
    if all(found) and all(run["returncode"] == 1 for run in guarded.values()):
        places = sorted({f"{m.group(1)}, naming {m.group(2)}" for m in found if m})
        text = "With the NaN guard on, both NaN runs (BatchNorm on and off) stopped "
        text += " and ".join(places) + "."
    else:
        text = f"With the NaN guard on: {' / '.join(s or 'no stop' for s in stops)}."
    losses = {bn: [row["train_loss"] for row in r["history"]] for bn, r in unguarded.items()}
    if all(math.isnan(x) for xs in losses.values() for x in xs):
        text += (
            " Without the guard every epoch's train loss was NaN, with BatchNorm and without: "
            "one NaN pixel makes the input normalisation's statistics NaN, and BatchNorm did "
            "not bound or hide it."
        )
    else:
        text += f" Without the guard, the train loss per epoch was {losses}."
    story = {
        "text": text,
        "guarded": {bn: run.get("error") for bn, run in guarded.items()},
        "unguarded_losses": losses,
        "train_accuracy": {
            "glitch, BN": [r["summary"]["train_accuracy"] for r in big_on],
            "glitch, no BN": [r["summary"]["train_accuracy"] for r in big_off],
        },
        "valid_accuracy": {"glitch, BN": acc(big_on), "glitch, no BN": acc(big_off)},
    }
    return comparisons, story
