"""Data for the evidence, all made on this machine (nothing downloaded), as .npz files or
folders that a generated project reads through `data.source`.

- shapes: a procedurally generated image task, `shapes(n, size, seed)`. Six classes of a
  filled shape (disk, square, triangle, ring, cross, bar), each drawn once per image at a
  random centre, scale (a fifth to two fifths of the side), rotation and colour, on a
  background of a random linear colour gradient, then Gaussian pixel noise (std 0.2) and
  a random second, fainter shape of any class as clutter (contrast 0.3..0.5 against the
  main shape's 0.5..1). The noise and clutter keep the baseline below 100%. RGB, values
  clipped to [0, 1]; labels balanced (i % 6, then shuffled).
- mnist1d: MNIST-1D (Greydanus 2020) made larger with its own generator (the `mnist1d`
  package's `make_dataset` with its default arguments but `num_samples`), stored as x
  (N, 1, 40) and y, with its own test split as x_test, y_test.
- photos: scikit-image's and scikit-learn's photographs written as PNG files into one
  folder (the unet's `data.source` folder mode cuts them into patches like its default
  data); those that need a download are left out.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SHAPES = ("disk", "square", "triangle", "ring", "cross", "bar")


def _mask(kind: int, u: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """The shape `kind` at scale r in rotated, centred coordinates (u, v)."""
    name = SHAPES[kind]
    if name == "disk":
        return u**2 + v**2 <= r**2
    if name == "square":
        return (np.abs(u) <= r * 0.8) & (np.abs(v) <= r * 0.8)
    if name == "triangle":
        return (v >= -r * 0.7) & (v <= r * 0.9 - 1.6 * np.abs(u))
    if name == "ring":
        d = u**2 + v**2
        return (d <= r**2) & (d >= (0.55 * r) ** 2)
    if name == "cross":
        arm = r * 0.3
        return ((np.abs(u) <= arm) & (np.abs(v) <= r)) | ((np.abs(v) <= arm) & (np.abs(u) <= r))
    return (np.abs(u) <= r) & (np.abs(v) <= r * 0.3)  # bar


def shapes(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` images (n, 3, size, size) float32 in [0, 1] and their labels (n,) int64."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    labels = rng.permutation(np.arange(n) % len(SHAPES)).astype(np.int64)
    images = np.empty((n, 3, size, size), np.float32)
    for i, label in enumerate(labels):
        g = rng.uniform(-1, 1, 2)
        base = rng.uniform(0.2, 0.8, 3)[:, None, None]
        ramp = (g[0] * (xx - size / 2) + g[1] * (yy - size / 2)) / size
        image = base + 0.4 * ramp[None] * rng.uniform(-1, 1, 3)[:, None, None]
        for kind, contrast in ((int(rng.integers(len(SHAPES))), rng.uniform(0.3, 0.5)),
                               (int(label), rng.uniform(0.5, 1.0))):  # fmt: skip
            r = rng.uniform(0.2, 0.4) * size
            cx, cy = rng.uniform(r * 0.6, size - r * 0.6, 2)
            a = rng.uniform(0, 2 * math.pi)
            u = math.cos(a) * (xx - cx) + math.sin(a) * (yy - cy)
            v = -math.sin(a) * (xx - cx) + math.cos(a) * (yy - cy)
            colour = rng.uniform(-1, 1, 3) * contrast
            image = image + _mask(kind, u, v, r)[None] * colour[:, None, None]
        images[i] = image + rng.normal(0, 0.2, image.shape)
    return images.clip(0, 1), labels


def write_shapes(path: Path, n: int, size: int = 32, seed: int = 0) -> Path:
    x, y = shapes(n, size, seed)
    np.savez_compressed(path, x=x, y=y)
    return path


def write_mnist1d(path: Path, samples: int, seed: int = 42) -> Path:
    """MNIST-1D with `samples` in all (its generator's train/test split, 80/20)."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = samples, seed
    data = make_dataset(args)
    x = np.asarray(data["x"], np.float32)[:, None]
    x_test = np.asarray(data["x_test"], np.float32)[:, None]
    np.savez_compressed(
        path,
        x=x,
        y=np.asarray(data["y"], np.int64),
        x_test=x_test,
        y_test=np.asarray(data["y_test"], np.int64),
    )
    return path


SKIMAGE_PHOTOS = (
    "astronaut", "camera", "coins", "coffee", "chelsea", "rocket", "hubble_deep_field",
    "immunohistochemistry", "moon", "retina", "cat", "horse", "clock", "grass", "gravel",
    "brick",
)  # fmt: skip


def write_photos(folder: Path, limit: int = 0) -> list[str]:
    """The photographs that load offline, as 8-bit PNGs in `folder`; their names."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    folder.mkdir(parents=True, exist_ok=True)
    found: list[tuple[str, np.ndarray]] = []
    sk = load_sample_images()
    found += [(Path(name).stem, image) for name, image in zip(sk.filenames, sk.images, strict=True)]
    try:
        from skimage import data as skdata
    except ImportError:
        skdata = None
    for name in SKIMAGE_PHOTOS if skdata else ():
        try:
            image = np.asarray(getattr(skdata, name)())
        except Exception:  # needs a download, or absent in this version: left out
            continue
        if image.dtype != np.uint8:
            image = image.astype(np.float64)
            image = (255 * (image - image.min()) / max(np.ptp(image), 1e-9)).astype(np.uint8)
        if image.ndim == 3 and image.shape[2] == 4:
            image = image[..., :3]
        found.append((name, image))
    if limit:
        found = found[:limit]
    for name, image in found:
        Image.fromarray(image).convert("RGB").save(folder / f"{name}.png")
    return [name for name, _ in found]
