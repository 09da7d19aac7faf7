"""benchmarks/readme.py: README blocks of results are copies of the reports, checked."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("readme", ROOT / "benchmarks" / "readme.py")
readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme)

REPORT = """# A report

- machine: a CPU, 2 cores
- date: 2026-01-01
- command: `python benchmarks/x.py`
- other: not copied

| a | b |
| --- | --- |
| 1 | 2 |

text between

| c |
| --- |
| 3 |
"""


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(readme, "RESULTS", tmp_path)
    (tmp_path / "x.md").write_text(REPORT)
    return tmp_path


def block(parts: str, body: str = "old\n") -> str:
    return f"intro\n<!-- results: x.md {parts} -->\n{body}<!-- /results -->\noutro\n"


def test_blocks_are_filled_with_the_named_parts(results):
    text, changed = readme.sync(block("meta table 2"))
    meta = "- machine: a CPU, 2 cores\n- date: 2026-01-01\n- command: `python benchmarks/x.py`"
    assert text == block("meta table 2", f"{meta}\n\n| c |\n| --- |\n| 3 |\n")
    assert changed == ["x.md meta table 2"]
    assert readme.sync(text) == (text, [])  # filled blocks are current


def test_check_names_a_block_that_drifted(results, tmp_path, monkeypatch, capsys):
    path = tmp_path / "README.md"
    path.write_text(readme.sync(block("table 1"))[0])
    monkeypatch.setattr("sys.argv", ["readme.py", "--check", "--readme", str(path)])
    assert readme.main() == 0
    (results / "x.md").write_text(REPORT.replace("| 1 | 2 |", "| 1 | 5 |"))
    before = path.read_text()
    assert readme.main() == 1
    assert "differs from benchmarks/results/x.md table 1" in capsys.readouterr().err
    assert path.read_text() == before  # --check writes nothing
    monkeypatch.setattr("sys.argv", ["readme.py", "--readme", str(path)])
    assert readme.main() == 0
    assert "| 1 | 5 |" in path.read_text()


@pytest.mark.parametrize(
    ("parts", "message"),
    [("table 3", "has 2 tables"), ("tables", "unknown part"), ("meta", "does not exist")],
)
def test_bad_blocks_are_refused_in_one_sentence(
    results, tmp_path, monkeypatch, capsys, parts, message
):
    path = tmp_path / "README.md"
    text = (
        block(parts).replace("x.md", "missing.md") if message == "does not exist" else block(parts)
    )
    path.write_text(text)
    monkeypatch.setattr("sys.argv", ["readme.py", "--readme", str(path)])
    assert readme.main() == 2
    assert message in capsys.readouterr().err
    assert path.read_text() == text  # untouched


def test_the_readme_quotes_the_current_reports():
    text = (ROOT / "README.md").read_text()
    assert readme.BLOCK.search(text)
    assert readme.sync(text)[1] == []
