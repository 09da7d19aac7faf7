"""Property-based tests (Hypothesis): whatever a user types as a name, a path or a
`--data KEY=VALUE`, `scaffold new` succeeds or stops with exit code 1 or 2 and one
sentence, never a traceback, and leaves no staging folder.

Derandomized, with no example database, so every run tries the same examples and the
reliability counts stay put. `test_new_never_raises` uses a stand-in for copier's
render (milliseconds per example; it checks scaffold's side); `test_new_with_copier`
renders for real, fewer examples.

Run: pytest -q tests/test_fuzz.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import reliability
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scaffold import generate
from scaffold.cli import app
from scaffold.names import base_name_problem, package_name_problem, project_name_problem
from scaffold.variants import questions

runner = CliRunner()
SETTINGS = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}

# Text as users produce it: letters, digits, punctuation of names and paths, spaces,
# other scripts, control characters, NUL, and the lone surrogates that undecodable bytes
# on a command line become.
_odd = st.sampled_from(list("-._ /.éß名\n\t\x00\udcff"))
_chars = st.one_of(st.characters(codec="utf-8"), _odd)
text = st.text(_chars, max_size=20) | st.sampled_from(["torch", "my-project-", "a" * 300])
keys = st.sampled_from([*questions(), "base", "nope", "", " project_name"]) | st.text(max_size=8)
values = text | st.sampled_from(["[]", "[tensorboard]", "tensorboard", "{a: 1}", "[", "'x", "1"])
pairs = st.builds(lambda k, v: f"{k}={v}", keys, values) | text
paths = st.lists(text, min_size=1, max_size=3).map("/".join)  # odd parents too


@settings(max_examples=300, **SETTINGS)
@given(name=text)
def test_name_checks_answer_in_one_line(name: str) -> None:
    reliability.bad_input("random names (Hypothesis)")
    for check in (project_name_problem, package_name_problem, base_name_problem):
        problem = check(name)
        assert isinstance(problem, str) and "\n" not in problem


def _fake_render(src: str, dst: Path, **kwargs: Any) -> Any:
    (Path(dst) / "README.md").write_text("# project\n")
    package = kwargs["data"].get("package_name", "p")
    return SimpleNamespace(answers=SimpleNamespace(combined={"package_name": package}))


def _check_new(work: Path, path: str, data: list[str], overwrite: bool) -> Any:
    args = ["new", path, "--defaults", "--no-git"] + ["--overwrite"] * overwrite
    for pair in data:
        args += ["-d", pair]
    result = runner.invoke(app, args)
    reliability.no_traceback(result)
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    elif result.exit_code == 2:  # click's usage error ("No such option: -x")
        assert "Error" in result.output and "Traceback" not in result.output
    assert not list(work.rglob(".scaffold-*")), result.output
    return result


def _under(work: Path, relative: str) -> str:
    """`relative` as a path inside `work` (never outside it: no '..' steps)."""
    assume(".." not in relative.split("/"))
    return f"{work}/{relative}"


@settings(max_examples=250, **SETTINGS)
@given(path=paths, data=st.lists(pairs, max_size=3), overwrite=st.booleans())
# Found by this test before they were fixed (the first is in issue 17, the others not):
@example(path="a" * 300, data=[], overwrite=False)  # OSError: File name too long
@example(path="\udcffx/p", data=["project_name=p"], overwrite=False)  # UnicodeEncodeError
@example(path="p", data=["author=\udcff"], overwrite=False)  # copier's "surrogates not allowed"
def test_new_never_raises(path: str, data: list[str], overwrite: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(generate, "run_copy", _fake_render)
        work = Path(tmp)
        where = _under(work, path)
        reliability.bad_input("random scaffold new (Hypothesis)")
        _check_new(work, where, data, overwrite)


@settings(max_examples=12, **SETTINGS)
@given(name=paths, data=st.lists(pairs, max_size=2))
def test_new_with_copier(name: str, data: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        where = _under(work, name)
        reliability.bad_input("random scaffold new, rendered by copier (Hypothesis)")
        _check_new(work, where, data, overwrite=False)
