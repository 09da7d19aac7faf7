"""Default data: scikit-learn's handwritten digits (1,797 images of 8x8, 10 classes).

The data ships inside scikit-learn, so nothing is downloaded. `data.source` can point at
your own data instead (see data.py): a .npz file or a folder of class sub-folders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import plots

# The axes of one sample (channels, height, width); data.py checks your own data by them.
SAMPLE_AXES = ("C", "H", "W")


def load_default() -> dict[str, np.ndarray | list[str]]:
    """Images as float32 (N, 1, 8, 8) in [0, 1], labels as int64; no separate test split."""
    from sklearn.datasets import load_digits  # imported when the digits are wanted, not before

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None]
    return {"x": x, "y": digits.target.astype(np.int64), "classes": [str(c) for c in range(10)]}


def plot_samples(x: np.ndarray, y: np.ndarray, classes: list[str], path: Path) -> None:
    """A grid of sample images with their labels."""
    plots.image_grid(x, [classes[int(label)] for label in y], path)
