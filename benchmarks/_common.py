"""What the benchmark scripts share."""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any


def cpu_name() -> str:
    """The processor's model name (Linux), or what platform knows of it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def new_project(folder: Path, home: Path, *data: str) -> Path:
    """`scaffold new FOLDER --defaults --no-git --data D ...` with SCAFFOLD_HOME=home.

    The package is named after the folder (`lo-cnn-off` gives `lo_cnn_off`). scaffold is
    imported from this checkout's src/ (first on PYTHONPATH), so the template rendered is
    this checkout's, whichever scaffold the environment has installed. Returns the folder;
    a failure ends the script with the end of scaffold's error output.
    """
    command = [sys.executable, "-m", "scaffold", "new", str(folder), "--defaults", "--no-git"]
    command += [arg for item in data for arg in ("--data", item)]
    src = str(Path(__file__).resolve().parents[1] / "src")
    path = os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "SCAFFOLD_HOME": str(home), "PYTHONPATH": path}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-20:])
        raise SystemExit(f"`scaffold new {folder.name} {' '.join(data)}` failed:\n{tail}")
    return folder


def import_modules(project: Path, package: str, names: Iterable[str]) -> dict[str, ModuleType]:
    """Import `package.NAME` for each name from the project's src/ folder (no install)."""
    src = str(project / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return {name: importlib.import_module(f"{package}.{name}") for name in names}


def meta(torch_threads: int | None = None, **extra: Any) -> dict[str, Any]:
    """A report's meta: date, command, machine and Python, then `extra`.

    The command is this script's name and arguments (the reports show it after `python
    benchmarks/`) unless `command=` replaces it. With `torch_threads` (the threads the
    measured work had) the threads and torch's version are recorded too.
    """
    out: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
    }
    if torch_threads is not None:
        import torch

        out |= {"torch_threads": torch_threads, "torch": torch.__version__}
    return out | extra


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table: the header, its `---` line, one line per row (cells as str)."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(meta: dict[str, Any], threads: str = "threads") -> str:
    """The report's `- machine:` line (from `meta(torch_threads=...)`), newline included."""
    return (
        f"- machine: {meta['machine']}, torch {meta['torch']} "
        f"({meta['torch_threads']} {threads}), Python {meta['python']}\n"
    )


def date_and_command(meta: dict[str, Any]) -> str:
    """The report's `- date:` and `- command:` lines, newlines included."""
    return f"- date: {meta['date']}\n- command: `python benchmarks/{meta['command']}`\n"
