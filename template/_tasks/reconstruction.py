"""Reconstruction (denoising): x is a noisy image, y the clean one, both (N, C, H, W).

Loss: mean squared error. Metric: PSNR in dB, 10 * log10(1 / MSE) for pixel values in
[0, 1], computed per sample and summed, so the epoch mean is an exact per-sample mean (not
a PSNR of the mean MSE). The PSNR of the noisy input itself (`noisy_psnr`) is the
reference: what doing nothing scores. Clean images become (noisy, clean) patch pairs here
(`prepare`), with the noise settings of DataConfig.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import plots
from .config import DataConfig
from .errors import ConfigError

METRIC = "psnr"  # the metric that picks the best checkpoint and that `overfit` checks
HIGHER_IS_BETTER = True
# The capacity check passes at a train PSNR 10 dB above the noisy input's: a tenth of the
# noise's squared error left. Measured on the default photos (256 patches): the minimal
# preset, a learned 5x5 filter, levels off near +8.3 dB (fails after 200 epochs); the
# default U-Net passes in 30 epochs (11 with batches of 16). A fixed dB value would not
# carry over to another noise level or to your own pairs; a gain over the input does.
OVERFIT_GAIN_DB = 10.0
OVERFIT_GOAL = f"train PSNR {OVERFIT_GAIN_DB:g} dB above the noisy input"
LABELLED = False  # y holds clean images, not class labels (see data.py)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # RGB -> gray weights (ITU-R BT.601)


def num_outputs(classes: list[str], in_shape: tuple[int, ...]) -> int:
    return in_shape[0]  # as many channels as the image


def loss_fn(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(output, target)


def psnr(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR of each sample in dB (pixel values in [0, 1]); capped at 100 dB for exact copies."""
    mse = (output.float() - target.float()).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def batch_sums(output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
    """Per-batch sums [loss, psnr] that metrics.py adds up over an epoch.

    `loss` is the batch mean, so loss * n is the batch's sum whatever the batch size
    (the short last batch included). Stays on the device: no sync in the hot loop.
    """
    n = target.shape[0]
    return torch.stack([loss.detach().float() * n, psnr(output.detach(), target).sum()])


NAMES = ("loss", METRIC)


{% if 'sgdr' in features -%}
def ensemble_metrics(
    outputs: list[torch.Tensor], weights: list[float], target: torch.Tensor
) -> dict[str, float]:
    """Loss and PSNR of the weighted mean of the models' output images.

    The outputs are averaged (in float64), not the scores: two denoisers whose errors
    point different ways cancel out. Both metrics are exact per-sample means, as in
    batch_sums, so a single model with weight 1 scores what metrics.evaluate gives it.
    """
    mean = torch.stack([w * out.double() for out, w in zip(outputs, weights, strict=True)]).sum(0)
    loss = F.mse_loss(mean, target.double())
    return {"loss": loss.item(), METRIC: psnr(mean, target).double().mean().item()}


{% endif -%}
def reference_metrics(x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """What the noisy input itself scores: the bar a denoiser must clear."""
    return {"noisy_psnr": psnr(x, y).double().mean().item()}


def overfit_target(x: torch.Tensor, y: torch.Tensor) -> float:
    """The capacity check's train PSNR: OVERFIT_GAIN_DB above the noisy input's."""
    return reference_metrics(x, y)["noisy_psnr"] + OVERFIT_GAIN_DB


# ---------------------------------------------------------------- data: clean images -> pairs


def patches(image: np.ndarray, size: int) -> np.ndarray:
    """Non-overlapping size x size patches of a (C, H, W) image, as (rows, cols, C, size, size)."""
    c, h, w = image.shape
    rows, cols = h // size, w // size
    cut = image[:, : rows * size, : cols * size].reshape(c, rows, size, cols, size)
    return cut.transpose(1, 3, 0, 2, 4)


def prepare(arrays: dict[str, Any], cfg: DataConfig) -> dict[str, Any]:
    """Clean `images` (a list of (C, H, W) arrays) -> noisy/clean patch pairs; pairs pass on.

    Each image (turned to grayscale if `cfg.grayscale`) is cut into non-overlapping
    `cfg.patch_size` patches. The bottom `cfg.test_fraction` of its rows of patches is the
    test set: a region of the picture the model never trains on, not merely other patches.
    Gaussian noise of `cfg.noise_std` is drawn once with `cfg.noise_seed` and clipped to
    [0, 1] like a real 8-bit photo, so every split, valid and test included, is the same in
    every run.
    """
    if "images" not in arrays:
        return arrays  # already (noisy x, clean y) pairs, e.g. from a .npz file
    if cfg.noise_seed < 0:  # numpy takes no negative seed
        raise ConfigError(f"data.noise_seed must not be negative; got {cfg.noise_seed}.")
    train, test = [], []
    for image in arrays["images"]:
        if cfg.grayscale and image.shape[0] == 3:
            image = np.tensordot(LUMA, image, axes=1)[None]
        grid = patches(image, cfg.patch_size)
        rows = len(grid)  # at least one row of patches on each side when there are two
        cut = rows - min(max(round(rows * cfg.test_fraction), 1), max(rows - 1, 0))
        train.append(grid[:cut].reshape(-1, *grid.shape[2:]))
        test.append(grid[cut:].reshape(-1, *grid.shape[2:]))
    clean, clean_test = np.concatenate(train), np.concatenate(test)
    rng = np.random.default_rng(cfg.noise_seed)

    def noisy(images: np.ndarray) -> np.ndarray:
        noise = rng.normal(0.0, cfg.noise_std, images.shape).astype(np.float32)
        return np.clip(images + noise, 0.0, 1.0)

    return {
        "x": noisy(clean),
        "y": clean,
        "x_test": noisy(clean_test),
        "y_test": clean_test,
        "classes": [],
    }


# ---------------------------------------------------------------- pictures


@torch.no_grad()
def plot_predictions(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, path: Path) -> None:
    """Noisy input / model output / clean target for 8 samples spread over (x, y), with PSNR."""
    was_training = model.training
    model.eval()
    pick = torch.linspace(0, len(x) - 1, min(8, len(x))).long().to(x.device)
    x, y = x[pick], y[pick]
    out = model(x)
    model.train(was_training)
    images, titles = [], []
    for noisy, denoised, clean in zip(x, out, y, strict=True):
        images += [noisy, denoised, clean]
        titles += [
            f"noisy {psnr(noisy[None], clean[None]).item():.1f} dB",
            f"output {psnr(denoised[None], clean[None]).item():.1f} dB",
            "clean",
        ]
    pictures = torch.stack(images).float().clamp(0, 1).cpu().numpy()
    plots.image_grid(pictures, titles, path, columns=6, value_range=(0.0, 1.0))
