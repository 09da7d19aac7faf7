"""The unet's score: PSNR over whole photographs that no run trained on.

The unet lab trains on one folder of photographs (its `data.source`, which the project
cuts into patches with the bottom strip of each held out as its test split) and keeps
other photographs out of that folder altogether. A run's score is the mean over those
held-out photographs of the PSNR of its output on the whole photograph: each is turned to
grayscale as the project does (`data.grayscale`), cropped to a multiple of 2**depth (the
U-Net's downsampling), given Gaussian noise of `data.noise_std` drawn with a fixed seed
per photograph (the same noisy photograph for every run), clipped to [0, 1], and denoised
in one pass; PSNR = 10 log10(1 / MSE) over every pixel of the photograph.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from evidence_lab import Lab

NOISE_SEED = 20260  # + the photograph's index (in name order)
_PHOTOS: dict[tuple[Path, bool, float, int], list[tuple[str, np.ndarray, np.ndarray]]] = {}


def held_out(
    folder: Path, grayscale: bool, std: float, multiple: int
) -> list[tuple[str, Any, Any]]:
    """(name, noisy, clean) of each photograph in `folder`, as float32 (C, H, W) arrays."""
    key = (folder, grayscale, std, multiple)
    if key not in _PHOTOS:
        from PIL import Image

        found = []
        for i, path in enumerate(sorted(folder.glob("*.png"))):
            clean = np.asarray(Image.open(path).convert("RGB"), np.float32).transpose(2, 0, 1)
            clean = clean / 255.0
            if grayscale:
                luma = np.array([0.299, 0.587, 0.114], np.float32)  # as the project's task.py
                clean = np.tensordot(luma, clean, axes=1)[None]
            h, w = (clean.shape[1] // multiple) * multiple, (clean.shape[2] // multiple) * multiple
            clean = np.ascontiguousarray(clean[:, :h, :w])
            rng = np.random.default_rng(NOISE_SEED + i)
            noise = rng.normal(0.0, std, clean.shape).astype(np.float32)
            found.append((path.stem, np.clip(clean + noise, 0.0, 1.0), clean))
        _PHOTOS[key] = found
    return _PHOTOS[key]


def psnr(output: np.ndarray, clean: np.ndarray) -> float:
    mse = float(np.mean((output.astype(np.float64) - clean) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-10))


def photos_of(lab: Lab, cfg: Any) -> list[tuple[str, Any, Any]]:
    assert lab.photos is not None
    multiple = 2 ** int(getattr(cfg.model, "depth", 0))
    return held_out(lab.photos, bool(cfg.data.grayscale), float(cfg.data.noise_std), multiple)


def model_psnr(lab: Lab, model: Any, cfg: Any) -> float:
    """The mean PSNR of `model` over the held-out photographs (whole, one pass each)."""
    import torch

    values = []
    model.eval()
    with torch.no_grad():
        for _, noisy, clean in photos_of(lab, cfg):
            out = model(torch.from_numpy(noisy)[None]).float()[0].numpy()
            values.append(psnr(out, clean))
    return float(np.mean(values))


def noisy_psnr(lab: Lab, cfg: Any) -> float:
    """What doing nothing scores: the mean PSNR of the noisy photographs themselves."""
    return float(np.mean([psnr(noisy, clean) for _, noisy, clean in photos_of(lab, cfg)]))


def photo_scores(lab: Lab, run_dir: Path) -> dict[str, float]:
    """`last`: the run's last weights; `averaged`: its weight average (EMA, SWA) if kept."""
    import torch

    runs = lab.module("runs")
    opened = runs.open_run(run_dir, "last", torch.device("cpu"))
    out = {"last": model_psnr(lab, opened.model, opened.cfg)}
    out["noisy"] = noisy_psnr(lab, opened.cfg)
    averaged = run_dir / "checkpoints" / "averaged.pt"
    if averaged.is_file():
        state = lab.module("checkpoint").load(averaged, map_location="cpu")
        runs.load_weights(opened.model, state["model"], averaged)
        out["averaged"] = model_psnr(lab, opened.model, opened.cfg)
    return out


def weights_psnr(lab: Lab, run_dir: Path, weights: Path) -> float:
    """The held-out photographs' PSNR with the weights in `weights` (a checkpoint or an
    exported file; fp16 weights are loaded into the fp32 model, as `export` scores them)."""
    import torch

    runs = lab.module("runs")
    opened = runs.open_run(run_dir, "last", torch.device("cpu"))
    state = lab.module("checkpoint").load(weights, map_location="cpu")
    runs.load_weights(opened.model, state["model"], weights)
    return model_psnr(lab, opened.model.float(), opened.cfg)


def mean_psnr(outputs: list[np.ndarray], photos: list[tuple[str, Any, Any]]) -> float:
    """The mean PSNR of one output per held-out photograph."""
    pairs = zip(outputs, photos, strict=True)
    return float(np.mean([psnr(out, clean) for out, (_, _, clean) in pairs]))


def snapshot_scores(lab: Lab, run_dir: Path, scheme: str = "linear") -> dict[str, Any]:
    """An SGDR run's snapshots on the held-out photographs, as the `ensemble` command scores
    them on a split: each snapshot's PSNR, the `scheme`-weighted average of their outputs
    (the prediction ensemble), and the PSNR of their weight average."""
    import torch

    modules = {name: lab.module(name) for name in ("runs", "checkpoint", "ensemble", "averaging")}
    runs, ensemble = modules["runs"], modules["ensemble"]
    opened = runs.open_run(run_dir, "last", torch.device("cpu"))
    model, cfg = opened.model.float(), opened.cfg
    photos = photos_of(lab, cfg)
    outputs: list[list[np.ndarray]] = []  # per snapshot, per photograph
    states, singles = [], []
    for _, path in ensemble.snapshots(run_dir):
        state = modules["checkpoint"].load(path, map_location="cpu")
        runs.load_weights(model, state["model"], path)
        states.append(state["model"])
        model.eval()
        with torch.no_grad():
            outs = [model(torch.from_numpy(x)[None]).float()[0].numpy() for _, x, _ in photos]
        outputs.append(outs)
        singles.append(mean_psnr(outs, photos))
    share = ensemble.weights(len(outputs), scheme)
    mixed = [
        sum(w * outs[i] for w, outs in zip(share, outputs, strict=True)) / sum(share)
        for i in range(len(photos))
    ]
    x_train = opened.splits.train[0]
    mean = modules["averaging"].averaged(model, states, x_train, cfg.train.batch_size)
    return {
        "snapshots": singles,
        "best_single": max(singles),
        "weighted": mean_psnr(mixed, photos),
        "weights_averaged": model_psnr(lab, mean, cfg),
        "scheme": scheme,
    }
