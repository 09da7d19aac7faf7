"""Default data: two photographs that ship with scikit-learn (china.jpg, flower.jpg, 427x640).

Nothing is downloaded. task.prepare turns the photos to grayscale, cuts them into
non-overlapping `patch_size` patches, holds out the bottom `test_fraction` of each photo
as the test set (a region the model never trains on) and adds Gaussian noise of
`noise_std`, drawn once with `noise_seed`: x is the noisy patch, y the clean one. With the
defaults: 400 train+valid patches and 120 test patches of 32x32.

Grayscale by default (`grayscale = false` keeps the colours): one channel is the classic
denoising benchmark setting, and it learns faster. Measured with the default U-Net
(`train --final`, 6 epochs, batches of 32, one CPU thread, about 85 s either way): test
PSNR +5.8 dB over the noisy input in gray, +1.6 dB in RGB.

`data.source` can point at your own data instead (see data.py): a folder of clean images
(treated like these photos) or a .npz file of paired `x` (noisy) and `y` (clean) images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import plots

# The axes of one sample (channels, height, width); data.py checks your own data by them.
SAMPLE_AXES = ("C", "H", "W")


def load_default() -> dict[str, list[np.ndarray] | list[str]]:
    """The two photos as float32 (3, H, W) images in [0, 1], for task.prepare to cut up."""
    from sklearn.datasets import load_sample_images  # imported when the photos are wanted

    photos = [
        np.asarray(image, np.float32).transpose(2, 0, 1) / 255.0
        for image in load_sample_images().images
    ]
    return {"images": photos, "classes": []}


def plot_samples(x: np.ndarray, y: np.ndarray, classes: list[str], path: Path) -> None:
    """Noisy input and clean target side by side, four pairs to a row."""
    pairs = np.stack([x[:16], y[:16]], axis=1).reshape(-1, *x.shape[1:])
    plots.image_grid(pairs.clip(0, 1), ["noisy", "clean"] * 16, path, value_range=(0.0, 1.0))
