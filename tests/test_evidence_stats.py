"""benchmarks/evidence_stats.py: the paired t-interval and the verdict rule, on known inputs."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
spec = importlib.util.spec_from_file_location(
    "evidence_stats", ROOT / "benchmarks" / "evidence_stats.py"
)
ev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ev)


def test_t_quantiles_match_the_tables():
    assert ev.t_quantile(1) == pytest.approx(12.7062, abs=1e-4)
    assert ev.t_quantile(4) == pytest.approx(2.7764, abs=1e-4)
    assert ev.t_quantile(29) == pytest.approx(2.0452, abs=1e-4)


def test_the_interval_of_known_differences():
    # differences 1..5: mean 3, sd sqrt(2.5), se sqrt(0.5), t(4) 2.776445
    iv = ev.paired([0, 0, 0, 0, 0], [1, 2, 3, 4, 5])
    assert iv["n"] == 5 and iv["mean"] == pytest.approx(3.0)
    assert iv["low"] == pytest.approx(3 - 1.963243, abs=1e-5)
    assert iv["high"] == pytest.approx(3 + 1.963243, abs=1e-5)
    assert iv["diffs"] == [1, 2, 3, 4, 5]
    assert ev.verdict(iv) == ev.HELPS
    assert ev.verdict(iv, higher_is_better=False) == ev.HURTS


def test_pairs_not_arms_decide():
    # the arms overlap widely, but B beats A by 0.01 on every seed, give or take 0.001
    a = [0.90, 0.95, 0.80, 0.99, 0.85]
    b = [x + d for x, d in zip(a, [0.010, 0.011, 0.009, 0.010, 0.010], strict=True)]
    iv = ev.paired(a, b)
    assert iv["mean"] == pytest.approx(0.01, abs=1e-9)
    assert 0.0085 < iv["low"] < iv["high"] < 0.0115
    assert ev.verdict(iv) == ev.HELPS


def test_an_interval_across_zero_finds_no_effect():
    iv = ev.paired([0.0] * 5, [1.0, -1.0, 2.0, -2.0, 0.5])
    # mean 0.1, sd sqrt(2.55) = 1.596872, half width 2.776445 * 1.596872 / sqrt(5) = 1.98277
    assert iv["low"] == pytest.approx(0.1 - 1.98277, abs=1e-4)
    assert iv["high"] == pytest.approx(0.1 + 1.98277, abs=1e-4)
    assert ev.verdict(iv) == ev.NONE


def test_identical_arms_and_single_pairs():
    iv = ev.paired([0.5, 0.6], [0.5, 0.6])
    assert (iv["low"], iv["high"]) == (0.0, 0.0)
    assert ev.verdict(iv) == ev.NONE
    one = ev.paired([0.5], [0.7])
    assert one["mean"] == pytest.approx(0.2) and math.isnan(one["low"])
    assert ev.verdict(one) == ev.TOO_FEW
    with pytest.raises(ValueError, match="one number per seed"):
        ev.paired([1, 2], [1])


def test_texts():
    iv = ev.paired([0, 0, 0, 0, 0], [1, 2, 3, 4, 5])
    assert ev.interval_text(iv, 2) == "+3.00 [+1.04, +4.96]"
    assert ev.mean_text([0.5, 0.7], 1) == "0.6 (0.5..0.7)"
    tiny = {"n": 5, "mean": 0.0001, "low": 0.00002, "high": 0.0002}
    assert ev.interval_text(tiny) == "+0.0001 [+2e-05, +0.0002]"  # the sign survives


def test_pair_plot_draws_each_pair(tmp_path):
    c = {
        "title": "EMA of weights",
        "baseline": "cnn (digits)",
        "metric": "valid_accuracy",
        "a": "A",
        "b": "B",
        "a_values": [0.9, 0.8],
        "b_values": [0.95, 0.85],
        "verdict": "helps",
        "interval": ev.paired([0.9, 0.8], [0.95, 0.85]),
    }
    ev.pair_plot(tmp_path / "p.png", "t", [c, c])
    assert (tmp_path / "p.png").stat().st_size > 1000
    from PIL import Image

    wide = Image.open(tmp_path / "p.png").size
    ev.pair_plot(tmp_path / "q.png", "t", [c] * (ev.PLOT_COLUMNS + 1))  # wraps to a 2nd row
    size = Image.open(tmp_path / "q.png").size
    assert size[0] == round(wide[0] * ev.PLOT_COLUMNS / 2) and size[1] == 2 * wide[1]


def test_the_report_shows_each_interval_and_its_verdict():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("evidence", ROOT / "benchmarks" / "evidence.py")
    evidence = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evidence)
    claims = sys.modules["evidence_claims"]

    class FakeLab:
        key, baseline, data_name, epochs, batch_size, lr, base = (
            "cnn-digits",
            "cnn",
            "digits",
            3,
            64,
            1e-3,
            [],
        )
        data = {"sizes": {"train": 10, "valid": 5}}
        folds, final, photos, metric = 0, False, None, "valid_accuracy"
        pairs = {"default": [{"scores": {"last": 0.9}}]}
        unmeasured = ["bf16 training vs fp32: refused"]

    lab = FakeLab()
    found = [
        claims.comparison(
            "ema", lab, "raw", [0.9, 0.8, 0.85], "EMA", [0.95, 0.86, 0.9], "valid_accuracy"
        ),
        claims.comparison(
            "warmup", lab, "none", [0.5, 0.6, 0.7], "warmup", [0.6, 0.5, 0.7], "valid_accuracy"
        ),
    ]
    assert [c["verdict"] for c in found] == [ev.HELPS, ev.NONE]
    info = {
        "machine": "m",
        "torch": "t",
        "torch_threads": 2,
        "python": "3",
        "date": "d",
        "command": "python benchmarks/evidence.py",
        "load_start": 1.0,
        "load_end": 2.0,
        "wall_seconds": 3.0,
        "runs": 4,
        "jobs": 1,
        "quick": False,
        "seeds": [0, 1, 2],
    }
    text = evidence.report(info, {"cnn-digits": lab}, found, {"failed": ["x: y"]})
    rows = [line for line in text.splitlines() if line.startswith("| EMA")]
    # diffs .05 .06 .05: sd 0.005774, se 0.003333, t(2) 4.3027: half width 0.01434
    assert "+0.0533 [+0.0390, +0.0677]" in rows[0] and "**helps**" in rows[0]
    assert "- x: y" in text
    assert "- cnn (digits): bf16 training vs fp32: refused" in text  # under the summary
    assert "- not measured here: bf16 training vs fp32: refused" in text  # in the lab's part
    assert "- the default config's valid_accuracy: 0.9000" in text
    assert "- wall time: 3 s (0.1 min) for 4 training runs, 1 at a time" in text
    assert "- scored on: a random valid split, its seed the pair's seed" in text
