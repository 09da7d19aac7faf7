"""`scaffold new` under bad luck: a busy folder, a failed --overwrite, Ctrl-C at any line,
SIGTERM, and a folder inside another git repository.

Run: pytest -q tests/test_new_safety.py
"""

from __future__ import annotations

import linecache
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import reliability
from typer.testing import CliRunner

from scaffold import destination, generate, overwrite
from scaffold.cli import app
from scaffold.errors import ScaffoldError
from scaffold.lock import lock_paths

runner = CliRunner()
SCAFFOLD = [sys.executable, "-m", "scaffold"]
HOLD = """
import sys
from pathlib import Path
from scaffold.lock import destination_lock
with destination_lock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def _contents(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for a folder)."""
    return {
        str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


def _user_files(folder: Path) -> dict[str, bytes | None]:
    """`_contents` of the folders a test's runs write to (not scaffold's homes)."""
    skip = ("probe", "home-", "before")
    return {k: v for k, v in _contents(folder).items() if not k.startswith(skip)}


def _leftovers(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".scaffold-*"))


def _one_error_line(result: Any) -> str:
    reliability.no_traceback(result)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# ------------------------------------------------------------------ locks


def test_a_busy_folder_is_refused_naming_who_holds_it(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(dest), "scaffold update"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        for args in (["new", str(dest), "--defaults"], ["update", str(dest)]):
            reliability.concurrent()
            line = _one_error_line(runner.invoke(app, args))
            assert f"{dest} is busy: scaffold update (pid {holder.pid}, since 20" in line
            assert "try again when it has finished" in line
        assert not dest.exists() and _leftovers(tmp_path) == []
    finally:
        holder.communicate("")
    result = runner.invoke(app, ["new", str(dest), "--defaults", "--no-git", "-d", "features=[]"])
    assert result.exit_code == 0, result.output
    lock_file, info_file = lock_paths(dest)
    assert lock_file.is_file() and not info_file.exists()  # who-holds-it goes with the lock
    assert ".scaffold" not in {p.name[:9] for p in dest.iterdir()}


def test_two_real_runs_into_one_folder(tmp_path: Path) -> None:
    """Two `scaffold new` processes at once: one project, one refusal, nothing mixed."""
    dest = tmp_path / "proj"
    args = [*SCAFFOLD, "new", str(dest), "--defaults", "-d", "features=[]"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    done = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    reliability.concurrent(2)
    assert sorted(code for code, _, _ in done) == [0, 1], done
    (_, _, loser_err) = next(d for d in done if d[0] == 1)
    lines = loser_err.strip().splitlines()
    assert len(lines) == 1 and ("is busy" in lines[0] or "is not empty" in lines[0]), lines
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=dest, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # exactly the committed project, nothing of a second render
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------ --overwrite


@pytest.fixture
def occupied(tmp_path: Path) -> Path:
    """A folder with the user's files, one of them a folder where the project has a file."""
    dest = tmp_path / "proj"
    (dest / "README.md").mkdir(parents=True)  # the project wants a file here
    (dest / "README.md" / "keep.txt").write_text("mine\n")
    (dest / "pyproject.toml").write_text("# my own\n")
    (dest / "notes.txt").write_text("notes\n")
    return dest


def test_failed_overwrite_leaves_the_folder_as_it_was(occupied: Path) -> None:
    before = _contents(occupied)
    result = runner.invoke(app, ["new", str(occupied), "--defaults", "--overwrite"])
    reliability.bad_input("scaffold new --overwrite over clashing files")
    line = _one_error_line(result)
    assert f"{occupied / 'README.md'} is a folder where the project has a file" in line
    assert _contents(occupied) == before


def test_overwrite_rolls_back_a_failure_half_way(
    occupied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (occupied / "README.md" / "keep.txt").unlink()
    (occupied / "README.md").rmdir()
    (occupied / "README.md").write_text("my readme\n")
    before = _contents(occupied)
    real_rename, calls = os.rename, []

    def rename(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) == 12:  # the disk fills up after a few files
            raise OSError(28, "No space left on device", str(dst))
        real_rename(src, dst)

    monkeypatch.setattr(overwrite.os, "rename", rename)
    result = runner.invoke(app, ["new", str(occupied), "--defaults", "--overwrite", "--no-git"])
    line = _one_error_line(result)
    assert "No space left on device" in line and "was left as it was" in line
    assert len(calls) > 12  # it did move files, then put them back
    assert _contents(occupied) == before


# ------------------------------------------------------------------ Ctrl-C and SIGTERM


def _fake_render(src: str, dst: Path, **kwargs: Any) -> Any:
    """copier's run_copy, quick: three files (the kill points are scaffold's lines)."""
    (Path(dst) / "src" / "p").mkdir(parents=True)
    (Path(dst) / "src" / "p" / "__init__.py").write_text("")
    (Path(dst) / "README.md").write_text("# p\n")
    (Path(dst) / ".copier-answers.yml").write_text("_commit: v0\n")
    return SimpleNamespace(answers=SimpleNamespace(combined={"package_name": "p"}))


def _run_interrupted_at(k: int, dest: Path) -> tuple[str, int, str]:
    """Run new_project(dest, overwrite=True) with KeyboardInterrupt raised at the k-th line
    that scaffold's generate, overwrite and lock modules execute; return (outcome, lines
    counted, where). In-process, without the CLI (typer takes half the time of a run;
    test_refusals checks the CLI's "Cancelled")."""
    modules = (generate, overwrite, destination, sys.modules["scaffold.lock"])
    ours = {module.__file__ for module in modules}
    seen, where = 0, ""

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal seen, where
        # Not at `try:`: a trace function may raise there, outside the try (CPython 3.11),
        # where a real signal never lands (it is checked at calls and jumps, not at a NOP).
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if event == "line" and line != "try:":
            seen += 1
            if seen == k:
                where = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno}"
                raise KeyboardInterrupt  # Python then stops tracing: one Ctrl-C
        return local

    def calls(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename in ours else None

    sys.settrace(calls)
    try:
        generate.new_project(dest, defaults=True, overwrite=True, git_init=False)
        outcome = "made"
    except KeyboardInterrupt:
        outcome = "interrupted"
    except ScaffoldError as error:
        outcome = str(error)
    finally:
        sys.settrace(None)
    return outcome, seen, where


@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "overwrite"])
def test_ctrl_c_at_any_line_leaves_no_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    # copier and git stand-ins keep each of these runs to milliseconds; the lines counted
    # are scaffold's own, from the checks to the move into place and the lock's release.
    monkeypatch.setattr(generate, "run_copy", _fake_render)
    monkeypatch.setattr(generate, "_template_source", lambda say, version: ("src", "v0"))
    dest = tmp_path / "parent" / "proj"
    probe = tmp_path / "probe" / "proj"
    if existing:
        for folder in (dest, probe):
            folder.mkdir(parents=True)
            (folder / "README.md").write_text("mine\n")
            (folder / "notes.txt").write_text("notes\n")
    before = tmp_path / "before"
    shutil.copytree(tmp_path, before, symlinks=True)
    # Count the lines of one uninterrupted run, then interrupt each of them in turn.
    _, total, _ = _run_interrupted_at(0, probe)
    assert total > 40
    for k in range(1, total + 1):
        # A lock whose release itself was interrupted stays held until its process ends
        # (the kernel frees it then); these runs share one process, so each has its own.
        monkeypatch.setattr("scaffold.lock.scaffold_home", lambda k=k: tmp_path / f"home-{k}")
        outcome, _, where = _run_interrupted_at(k, dest)
        reliability.kill_point()
        assert _leftovers(tmp_path) == [], where
        complete = (dest / ".copier-answers.yml").is_file()
        assert outcome in ("interrupted", "Cancelled; nothing was written.") or (
            outcome == "made" and complete
        ), (where, outcome)
        if complete:  # done, or interrupted after the move: a whole project
            assert (dest / "src" / "p" / "__init__.py").is_file()
            shutil.rmtree(tmp_path / "parent")
            if existing:
                dest.mkdir(parents=True)
                (dest / "README.md").write_text("mine\n")
                (dest / "notes.txt").write_text("notes\n")
        assert _user_files(tmp_path) == _user_files(before), where


def test_sigterm_during_new_cleans_up(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    run = subprocess.Popen(
        [*SCAFFOLD, "new", str(dest), "--defaults"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 60
    while not _leftovers(tmp_path) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    run.send_signal(signal.SIGTERM)
    code = run.wait(timeout=60)
    _, err = run.communicate()
    reliability.kill_point()
    assert _leftovers(tmp_path) == []
    assert "Traceback" not in err
    if code != 0:  # it was still working when the signal came
        assert code == 1 and "Cancelled" in err and not dest.exists(), err


# ------------------------------------------------------------------ nested repository


def test_new_inside_a_git_repository_says_so(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(tmp_path / "outer")], check=True)
    dest = tmp_path / "outer" / "sub" / "proj"
    result = runner.invoke(app, ["new", str(dest), "--defaults", "-d", "features=[]"])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stdout.splitlines() if "nested" in line]
    assert said == [
        f"{dest} is inside the git repository {tmp_path / 'outer'}: the project becomes a "
        "nested repository there (--no-git avoids it)."
    ]
    result = runner.invoke(app, ["new", str(dest.parent / "other"), "--defaults", "--no-git"])
    assert result.exit_code == 0 and "nested" not in result.stdout
