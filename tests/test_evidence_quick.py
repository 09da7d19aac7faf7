"""benchmarks/evidence.py --quick: paired comparisons come out of real runs, and every
verdict in the report and the README follows from its interval."""

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stats = load("evidence_stats")
readme = load("readme")


def verdict_of(cell: str) -> str:
    """The verdict that a `+m [low, high]` cell implies (higher is better)."""
    found = re.fullmatch(r"([+-][\d.]+) \[([+-][\d.e+-]+), ([+-][\d.e+-]+)\]", cell.strip())
    assert found, cell
    low, high = float(found[2]), float(found[3])
    return stats.verdict({"n": 2, "low": low, "high": high, "mean": float(found[1])})


def check_report(out: Path) -> dict:
    data = json.loads((out / "evidence.json").read_text())
    assert data["comparisons"]
    for c in data["comparisons"]:
        rounds = load("evidence_lab").TIMING_ROUNDS  # a timing comparison pairs its rounds
        seeds = len(data["meta"]["seeds"])  # a k-fold lab: (repeat, fold) pairs
        pairs = {rounds} if "samples/s" in c["metric"] else {seeds, 2 * seeds}
        assert len(c["a_values"]) == len(c["b_values"]) and len(c["a_values"]) in pairs
        iv = stats.paired(c["a_values"], c["b_values"])
        assert c["interval"]["low"] == pytest.approx(iv["low"], nan_ok=True)
        assert c["verdict"] == stats.verdict(iv, c["higher_is_better"])
    summary = readme.tables((out / "evidence.md").read_text())[0].splitlines()[2:]
    assert len(summary) == len(data["comparisons"])
    for line in summary:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if "loss" not in cells[3] and "(no interval)" not in cells[6]:
            assert cells[7] == f"**{verdict_of(cells[6])}**"
    assert list(out.glob("evidence-*.png"))
    return data


@pytest.mark.evidence  # a render and 8 tiny fold runs: about a minute here
def test_quick_averaging_on_the_cnn(tmp_path, monkeypatch):
    evidence = load("evidence")
    monkeypatch.setattr(sys, "argv", ["evidence.py"])
    out = tmp_path / "out"
    evidence.main(["--quick", "--labs", "cnn-digits", "--only", "averaging", "--out", str(out)])
    data = check_report(out)
    assert {c["claim"] for c in data["comparisons"]} == {"ema", "swa"}
    assert data["meta"]["quick"] is True


def test_the_readme_verdicts_follow_from_the_committed_intervals():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- results: evidence.md meta table 1 -->\n(.*?)<!-- /results -->",
                      text, re.DOTALL)  # fmt: skip
    assert block, "README.md has no evidence block"
    lines = [line for line in block[1].splitlines() if line.startswith("| ")][2:]  # no header
    assert lines
    for line in lines:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if "(no interval)" in cells[6]:
            continue
        assert cells[7] == f"**{verdict_of(cells[6])}**", line
        assert not math.isnan(float(cells[6].split()[0]))


@pytest.mark.evidence
def test_quick_runs_every_lab_and_arm(tmp_path, monkeypatch):
    evidence = load("evidence")
    monkeypatch.setattr(sys, "argv", ["evidence.py"])
    evidence.main(["--quick", "--out", str(tmp_path)])
    data = check_report(tmp_path)
    assert not data["stories"].get("failed")
    claims = {"averaging": {"ema", "swa"}, "switch": {"switch", "adam"}}  # a runner's claims
    for name, spec in evidence.LABS.items():  # every claim the lab lists came out of it
        found = {c["claim"] for c in data["comparisons"] if c["lab"] == name}
        assert found == {k for c in spec["claims"] for k in claims.get(c, {c})}, name
    unmeasured = data["stories"]["unmeasured"]  # the LSTM's bf16 on a CPU without native bf16
    assert set(unmeasured) <= {"lstm-mnist1d"}
    assert all("bf16" in line for lines in unmeasured.values() for line in lines)
