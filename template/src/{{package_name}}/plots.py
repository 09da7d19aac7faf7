"""Pictures: training curves and data samples, written as PNG files (no screen needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def pyplot() -> Any:
    """matplotlib.pyplot drawing to files (Agg), imported on first use: half a second that
    every command and every sweep worker would otherwise pay at start-up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curves(history: Sequence[dict[str, float]], metric: str, path: Path) -> None:
    """Loss and `metric` per epoch for every split that was logged."""
    epochs = [row["epoch"] for row in history]
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, name in zip(axes, ("loss", metric), strict=True):
        for split in ("train", "train_eval", "valid"):
            key = f"{split}_{name}"
            if key in history[0]:
                ax.plot(epochs, [row[key] for row in history], marker=".", label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    path: Path,
    columns: int = 8,
    value_range: tuple[float, float] | None = None,
) -> None:
    """Images (N, C, H, W) in a grid, each titled (e.g. with its label).

    Grayscale images are stretched to their own range unless `value_range` fixes one
    for all (so that a noisy and a clean image compare fairly).
    """
    low, high = value_range or (None, None)
    rows = max(1, int(np.ceil(len(images) / columns)))
    plt = pyplot()
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.35), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles, strict=False):
        picture = image[0] if image.shape[0] == 1 else np.clip(image.transpose(1, 2, 0), 0, 1)
        ax.imshow(picture, cmap="gray" if image.shape[0] == 1 else None, vmin=low, vmax=high)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
