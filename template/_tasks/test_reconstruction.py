"""Reconstruction: PSNR, clean images -> noisy/clean patch pairs, your own data, pictures."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from {{ package_name }} import data, task, train
from {{ package_name }}.config import DataConfig


def test_psnr_is_per_sample_and_summed():
    target = torch.zeros(3, 1, 4, 4)
    output = target + torch.tensor([0.1, 0.01, 0.1]).view(3, 1, 1, 1)  # MSE 1e-2, 1e-4, 1e-2
    assert task.psnr(output, target).tolist() == pytest.approx([20.0, 40.0, 20.0], abs=1e-4)
    loss = task.loss_fn(output, target)
    sums = task.batch_sums(output, target, loss)
    assert sums[0].item() == pytest.approx(loss.item() * 3)
    assert sums[1].item() == pytest.approx(80.0, abs=1e-3)  # not 3 * PSNR(mean MSE)
    assert task.reference_metrics(output, target)["noisy_psnr"] == pytest.approx(80.0 / 3, abs=1e-3)


def rows_image(height=40, width=24):
    """A (1, H, W) image whose pixels hold their row number / H: where a patch came from."""
    return np.repeat((np.arange(height, dtype=np.float32) / height)[:, None], width, 1)[None]


def test_patches_hold_out_a_bottom_strip_with_fixed_clipped_noise():
    cfg = DataConfig(patch_size=8, test_fraction=0.2, noise_std=0.1)
    arrays = task.prepare({"images": [rows_image(), rows_image()], "classes": []}, cfg)
    # 40 rows -> 5 rows of patches, 1 held out; 24 columns -> 3 patches per row
    assert arrays["y"].shape == (2 * 4 * 3, 1, 8, 8) and arrays["y_test"].shape == (2 * 3, 1, 8, 8)
    assert arrays["y"].max() < arrays["y_test"].min()  # test patches lie below every train patch
    noise = arrays["x"] - arrays["y"]
    assert 0.08 < noise.std() < 0.1  # clipping at 0 trims the dark rows' noise a little
    assert arrays["x"].min() >= 0.0 and arrays["x"].max() <= 1.0
    again = task.prepare({"images": [rows_image(), rows_image()], "classes": []}, cfg)
    assert np.array_equal(arrays["x_test"], again["x_test"])  # the noise is drawn once, seeded
    other = task.prepare({"images": [rows_image()] * 2}, DataConfig(patch_size=8, noise_seed=1))
    assert not np.array_equal(arrays["x"], other["x"])


def test_default_photos():
    splits = data.load(DataConfig())
    assert splits.classes == [] and splits.in_shape == (1, 32, 32)
    assert splits.train[1].shape == splits.train[0].shape  # y is the clean image
    assert len(splits.test[0]) == 120 and len(splits.train[0]) + len(splits.valid[0]) == 400
    noisy = task.reference_metrics(*splits.test)["noisy_psnr"]
    assert 19.5 < noisy < 21.5  # noise_std 0.1 is 20 dB; clipping removes a little of it


def test_npz_of_pairs(tmp_path):
    rng = np.random.default_rng(0)
    clean = rng.random((40, 3, 6, 6))
    path = tmp_path / "pairs.npz"
    np.savez(path, x=clean + 0.1, y=clean, x_test=clean[:8] + 0.1, y_test=clean[:8])
    splits = data.load(DataConfig(source=str(path)))
    assert splits.classes == [] and splits.in_shape == (3, 6, 6) and len(splits.test[0]) == 8
    assert splits.train[1].dtype == torch.float32 and splits.train[1].shape[1:] == (3, 6, 6)
    assert len(splits.train[0]) + len(splits.valid[0]) == 40
    assert torch.allclose(splits.train[0] - splits.train[1], torch.tensor(0.1))


def test_folder_of_clean_images(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "more").mkdir()
    for name, (h, w) in [("a.png", (40, 24)), ("more/b.jpg", (33, 17))]:
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(tmp_path / name)
    splits = data.load(DataConfig(source=str(tmp_path), patch_size=8), final=True)
    assert splits.in_shape == (1, 8, 8)  # grayscale by default, any image size
    # a: 5x3 patches, 1 row held out; b: 4x2 patches, 1 row held out
    assert len(splits.train[0]) == 4 * 3 + 3 * 2 and len(splits.test[0]) == 3 + 2
    rgb = data.load(DataConfig(source=str(tmp_path), patch_size=8, grayscale=False))
    assert rgb.in_shape == (3, 8, 8)


def test_summary_shows_the_noisy_psnr_beside_the_model_and_a_picture(tiny):
    summary = train.run(tiny("train.epochs=1"))
    assert summary["valid_noisy_psnr"] == pytest.approx(20.5, abs=1.0)
    assert "valid_psnr" in summary
    assert (Path(summary["run_dir"]) / "samples.png").stat().st_size > 1000
    final = train.run(tiny("train.epochs=1", "train.final=true"))
    saved = json.loads((Path(final["run_dir"]) / "summary.json").read_text())
    assert {"test_psnr", "test_noisy_psnr"} <= set(saved)


def test_a_negative_noise_seed_is_one_sentence():
    # found by test_fuzz.py: numpy's own ValueError, a traceback
    with pytest.raises(data.ConfigError, match="data.noise_seed must not be negative; got -1"):
        data.load(DataConfig(noise_seed=-1))
