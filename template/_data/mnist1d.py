"""Default data: MNIST-1D (Greydanus, 2020), 4,000 train and 1,000 test sequences of
length 40, 10 classes; a one-dimensional analogue of MNIST that is hard for models
without a spatial prior (the authors report 0.94 test accuracy for a CNN, 0.91 for a GRU).

The sequences are generated on this machine by `mnist1d.data.make_dataset` with the
authors' default arguments (seed 42): the same arrays every time, nothing downloaded.
Never use `mnist1d.data.get_dataset`: it fetches a URL and falls back silently.
`data.source` can point at your own data instead (see data.py): a .npz file with x of
shape (N, C, L), or a folder of class sub-folders.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


@functools.cache
def _generate() -> dict[str, np.ndarray]:
    """The arrays of MNIST-1D, made once per process (about a second)."""
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds numpy's and Python's global generators; put them back afterwards
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {
        "x": made["x"].astype(np.float32)[:, None],
        "y": made["y"].astype(np.int64),
        "x_test": made["x_test"].astype(np.float32)[:, None],
        "y_test": made["y_test"].astype(np.int64),
    }


# The axes of one sample (channels, length); data.py checks your own data by them.
SAMPLE_AXES = ("C", "L")


def load_default() -> dict[str, np.ndarray | list[str]]:
    """Sequences as float32 (N, 1, 40), standardised by the authors (mean 0, std 1), labels
    as int64, and the authors' own test split as x_test/y_test."""
    arrays = {name: array.copy() for name, array in _generate().items()}  # callers may edit
    return {**arrays, "classes": [str(c) for c in range(10)]}


def plot_samples(
    x: np.ndarray, y: np.ndarray, classes: list[str], path: Path, per_class: int = 3
) -> None:
    """Small line plots: one column per class (the first 10), a few of its sequences below."""
    shown = classes[:10]
    fig, axes = plt.subplots(
        per_class,
        len(shown),
        figsize=(len(shown) * 1.5, per_class * 1.1),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    series = x.reshape(len(x), x.shape[1], -1)  # (N, channels, time steps)
    for label, name in enumerate(shown):
        picks = np.flatnonzero(y == label)[:per_class]
        axes[0, label].set_title(name, fontsize=10)
        for row, ax in enumerate(axes[:, label]):
            ax.set_xticks([])
            ax.set_yticks([])
            if row < len(picks):
                ax.plot(series[picks[row]].T, color="k", linewidth=1.0)
            else:
                ax.set_frame_on(False)
    fig.tight_layout(pad=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
