"""Data for the evidence, all made on this machine (nothing downloaded), as .npz files or
folders that a generated project reads through `data.source`.

- shapes: a procedurally generated image task, `shapes(n, size, seed)`. Six classes of a
  filled shape (disk, square, triangle, ring, cross, bar), drawn once per image at a
  random centre, scale (0.3 to 0.45 of the side), rotation and colour (a random direction
  in RGB of length 0.5..0.9 added to the background, so the shape always shows), on a
  background of a random linear colour gradient; first a smaller (0.15..0.25 of the side),
  fainter (length 0.15..0.3) shape of any class as clutter, then Gaussian pixel noise (std
  NOISE). The noise, clutter and the shapes' few pixels keep the baseline well below 100%.
  RGB, values clipped to [0, 1]; labels balanced (i % 6, then shuffled).
- mnist1d: MNIST-1D (Greydanus 2020) made with its own generator (the `mnist1d` package's
  `make_dataset` with its default arguments but `num_samples` and `train_split`): the
  paper's 4,000 training samples and a test split larger than its 1,000, stored as x
  (N, 1, 40) and y, with the test split as x_test, y_test.
- folds: a repeated k-fold of labelled data (`write_folds`): one .npz per fold whose
  test split (x_test, y_test) is the fold, for the final-mode runs of a k-fold lab.
- photos: scikit-image's and scikit-learn's photographs written as PNG files, shrunk by
  an integer factor (a box filter), into two folders: the training folder (the unet's
  `data.source`, which the project cuts into patches like its default data) and the
  held-out folder of whole photographs no run trains on (HELD_OUT, scored by
  evidence_photos.py). Those that need a download are left out, and so is skimage's `cat`,
  the same picture as `chelsea`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SHAPES = ("disk", "square", "triangle", "ring", "cross", "bar")
NOISE = 0.08  # the pixel noise's std


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
        clutter = (int(rng.integers(len(SHAPES))), rng.uniform(0.15, 0.3), (0.15, 0.25))
        for kind, contrast, scale in (clutter, (int(label), rng.uniform(0.5, 0.9), (0.3, 0.45))):
            r = rng.uniform(*scale) * size
            cx, cy = rng.uniform(r * 0.6, size - r * 0.6, 2)
            a = rng.uniform(0, 2 * math.pi)
            u = math.cos(a) * (xx - cx) + math.sin(a) * (yy - cy)
            v = -math.sin(a) * (xx - cx) + math.cos(a) * (yy - cy)
            direction = rng.normal(size=3)
            colour = direction / np.linalg.norm(direction) * contrast
            image = image + _mask(kind, u, v, r)[None] * colour[:, None, None]
        images[i] = image + rng.normal(0, NOISE, image.shape)
    return images.clip(0, 1), labels


def write_shapes(path: Path, n: int, size: int = 32, seed: int = 0) -> Path:
    x, y = shapes(n, size, seed)
    np.savez_compressed(path, x=x, y=y)
    return path


def write_mnist1d(path: Path, train: int, test: int, seed: int = 42) -> Path:
    """MNIST-1D with `train` training and `test` test samples (its generator's own split:
    `num_samples` = train + test, `train_split` = train / (train + test))."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = train + test, seed
    args.train_split = (train + 0.5) / (train + test)  # int(len * split) == train exactly
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


def write_folds(folder: Path, x: np.ndarray, y: np.ndarray, k: int, seed: int) -> list:
    """Repeat `seed` of a stratified k-fold of (x, y): for each fold a .npz with the other
    folds as x, y and the fold as x_test, y_test (so the fold is the test split); the
    list of (path, the fold's size). Each sample is in exactly one fold's test split."""
    from sklearn.model_selection import StratifiedKFold

    folder.mkdir(parents=True, exist_ok=True)
    x, y = np.asarray(x), np.asarray(y)
    out = []
    split = StratifiedKFold(k, shuffle=True, random_state=seed)
    for f, (train, test) in enumerate(split.split(x, y)):
        path = folder / f"r{seed}-k{k}-f{f}.npz"
        np.savez(path, x=x[train], y=y[train], x_test=x[test], y_test=y[test])
        out.append((path, len(test)))
    return out


SKIMAGE_PHOTOS = (
    "astronaut", "camera", "coins", "coffee", "chelsea", "rocket", "hubble_deep_field",
    "immunohistochemistry", "moon", "retina", "horse", "clock", "grass", "gravel", "brick",
)  # fmt: skip
# whole photographs that no run trains on: two 512x512 (a portrait, coins in light), a
# colour still life and a cat, all shrunk like the training ones
HELD_OUT = ("camera", "coins", "coffee", "chelsea")


def write_photos(
    folder: Path,
    limit: int = 0,
    shrink: int = 1,
    held: tuple[str, ...] = (),
    held_folder: Path | None = None,
) -> list[str]:
    """The photographs that load offline, as 8-bit PNGs shrunk by `shrink`: those named in
    `held` into `held_folder`, the others (the first `limit` of them, 0: all) into
    `folder`. Returns the training photographs' names."""
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
    train = [(name, image) for name, image in found if name not in held]
    if limit:
        train = train[:limit]
    kept = [(name, image, folder) for name, image in train]
    if held_folder is not None:
        held_folder.mkdir(parents=True, exist_ok=True)
        kept += [(name, image, held_folder) for name, image in found if name in held]
    for name, image, where in kept:
        picture = Image.fromarray(image).convert("RGB")
        if shrink > 1:
            size = (picture.width // shrink, picture.height // shrink)
            picture = picture.resize(size, Image.Resampling.BOX)
        picture.save(where / f"{name}.png")
    return [name for name, _ in train]
