"""benchmarks/evidence_lab.py and its data: k-fold files, pooled pairs, the reuse key, the
held-out photographs -- without training anything."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import evidence_data  # noqa: E402
import evidence_lab  # noqa: E402
import evidence_photos  # noqa: E402


def test_each_sample_is_tested_once_per_repeat(tmp_path):
    x = np.arange(60, dtype=np.float32).reshape(60, 1, 1)
    y = np.repeat(np.arange(3), 20)
    tested = {}
    for seed in (0, 1):
        written = evidence_data.write_folds(tmp_path / f"r{seed}", x, y, 2, seed)
        assert [n for _, n in written] == [30, 30]
        seen = []
        for path, n in written:
            with np.load(path) as f:
                train, test = f["x"][:, 0, 0].tolist(), f["x_test"][:, 0, 0].tolist()
                assert len(test) == n and not set(train) & set(test)
                assert np.bincount(f["y_test"]).tolist() == [10, 10, 10]  # stratified
                assert (f["y_test"] == y[np.asarray(test, int)]).all()
            seen += test
        assert sorted(seen) == x[:, 0, 0].tolist()  # every sample once
        tested[seed] = seen
    assert tested[0] != tested[1]  # each repeat its own partition


def test_pairs_pool_their_folds_by_size():
    folds = [
        {"test_size": 300, "scores": {"last": 0.9, "averaged": 1.0}},
        {"test_size": 100, "scores": {"last": 0.5}},
    ]
    pair = evidence_lab.pooled("a-s0", 0, [], folds)
    assert pair["scores"] == {"last": pytest.approx(0.8)}  # averaged: not in every fold
    assert evidence_lab.scores([pair]) == [pytest.approx(0.8)]
    assert evidence_lab.members([pair, {"scores": {}}]) == [*folds, {"scores": {}}]
    values = evidence_lab.per_pair(
        [pair, {"x": 2.0}], lambda r: r["x"] if "x" in r else r["test_size"]
    )
    assert values == [pytest.approx(250.0), 2.0]


def test_the_reuse_key_follows_settings_and_data(tmp_path):
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros(3), y=np.ones(3))
    lab = SimpleNamespace(project_hash="p")
    args = ["train", "--epochs", "3", "--set", f"data.source={data}"]

    def key(a):
        return evidence_lab.Lab.run_key(lab, a)  # type: ignore[arg-type]

    first = key(args)
    np.savez(data, x=np.zeros(3), y=np.ones(3))  # the same arrays written again
    assert key(args) == first
    assert key(["train", "--epochs", "4", *args[3:]]) != first
    np.savez(data, x=np.zeros(4), y=np.ones(4))  # other data under the same name
    assert key(args) != first
    assert evidence_lab.Lab.run_key(SimpleNamespace(project_hash="q"), args) != key(args)


def test_held_out_photos_are_cropped_and_noisy_the_same_every_time(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (30, 42, 3), np.uint8)).save(tmp_path / "a.png")
    first = evidence_photos.held_out(tmp_path, True, 0.1, 4)
    ((name, noisy, clean),) = first
    assert name == "a" and clean.shape == noisy.shape == (1, 28, 40)
    assert noisy.min() >= 0 and noisy.max() <= 1
    evidence_photos._PHOTOS.clear()
    again = evidence_photos.held_out(tmp_path, True, 0.1, 4)
    assert np.array_equal(again[0][1], noisy)
    assert evidence_photos.psnr(clean, clean) == pytest.approx(100.0)
    assert 15 < evidence_photos.psnr(noisy, clean) < 25  # noise std 0.1: about 20 dB


def test_a_forked_run_writes_what_a_new_process_writes(tmp_path):
    """evidence_fork.py: the same training command, once forked from the lab's server and
    once as `python -m <package>`, gives the same numbers; a failing command's exit code
    and error output come back as a plain process's would."""
    lab = evidence_lab.Lab(tmp_path, "fork", "cnn", "digits", 2, ["data.subset=96"], jobs=2,
                           threads=1)  # fmt: skip
    try:
        forked = lab.train("forked", ["model.width=8"], seed=3)
        lab.forks, forks = None, lab.forks  # the same lab, each command a new process
        plain = lab.train("plain", ["model.width=8"], seed=3)
        lab.forks = forks
        failed, _ = lab.command(["train", "--no-progress", "--set", "optim.lr=-1"])
    finally:
        lab.close()
    for key in ("train_loss", "valid_loss", "valid_accuracy", "parameters"):
        assert forked["summary"][key] == plain["summary"][key], key
    assert forked["history"][-1]["train_loss"] == plain["history"][-1]["train_loss"]
    assert forked["cpu_seconds"] > 0
    assert failed.returncode == 2 and "optim.lr" in failed.stderr
