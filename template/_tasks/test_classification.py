"""Classification's own data: labelled .npz arrays and folders of class sub-folders."""

import numpy as np
{%- if facts.input_shape | length == 2 %}
import pytest
{%- endif %}

from {{ package_name }} import data, dataset
from {{ package_name }}.config import DataConfig

SAMPLE = (1,) + (6,) * (len(dataset.SAMPLE_AXES) - 1)  # (1, 6, 6) images, (1, 6) sequences


def test_npz_source(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mine.npz"
    np.savez(
        path,
        x=rng.random((40, *SAMPLE)),
        y=np.arange(40) % 4,
        x_test=rng.random((8, *SAMPLE)),
        y_test=np.arange(8) % 4,
    )
    splits = data.load(DataConfig(source=str(path)))
    assert splits.in_shape == SAMPLE and len(splits.test[0]) == 8
    assert splits.classes == ["0", "1", "2", "3"]
    assert len(splits.train[0]) + len(splits.valid[0]) == 40


def test_image_folder_source(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(10):
            pixels = (rng.random((5, 7)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / label / f"{i}.png")
{%- if facts.input_shape | length == 2 %}
    with pytest.raises(data.DataError, match="is a folder of images, and this model takes seq"):
        data.load(DataConfig(source=str(tmp_path)))  # the sequence model takes no images
{%- else %}
    splits = data.load(DataConfig(source=str(tmp_path)))
    assert splits.classes == ["cat", "dog"]
    assert splits.in_shape == (1, 5, 7)  # (channels, height, width)
    assert float(splits.train[0].max()) <= 1.0
{%- endif %}
