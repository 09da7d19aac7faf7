"""Counts of what the tests tried against scaffold, for the README's reliability table.

Tests call `bad_input(kind)`, `concurrent()`, `kill_point()`, `update_scenario()` as
they go, and `no_traceback(result)` on every CliRunner result they make from bad input.
At the end of a complete run of the fast suite (`pytest -q tests`, all passing)
conftest writes the counts to tests/reliability.json and their table to
benchmarks/results/reliability.md, which `python benchmarks/readme.py` copies into the
README (and `--check` compares), so the table is what the tests did, not typed by hand.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JSON = ROOT / "tests" / "reliability.json"
MARKDOWN = ROOT / "benchmarks" / "results" / "reliability.md"

counts: Counter[str] = Counter()


def bad_input(kind: str, n: int = 1) -> None:
    """Count `n` bad (or random) inputs of `kind` given to scaffold."""
    counts[f"bad input: {kind}"] += n


def concurrent(n: int = 1) -> None:
    """Count `n` scaffold runs started against a destination another run holds."""
    counts["concurrent runs"] += n


def kill_point(n: int = 1) -> None:
    """Count `n` points at which a run was interrupted (Ctrl-C, SIGTERM)."""
    counts["kill points"] += n


def update_scenario(n: int = 1) -> None:
    """Count `n` update situations (moved, failed, conflicting, damaged answers ...)."""
    counts["update scenarios"] += n


def no_traceback(result: Any) -> None:
    """Assert a CliRunner result ended by an exit, not an exception; count what it saw."""
    counts["command results checked for a traceback"] += 1
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        counts["tracebacks"] += 1
        raise AssertionError(f"traceback: {result.exception!r}\n{result.output}")


def table(found: Counter[str]) -> str:
    """The Markdown table of `found` (bad inputs by kind, then the rest)."""
    rows = sorted(k for k in found if k.startswith("bad input: "))
    rows += [
        k
        for k in (
            "concurrent runs",
            "kill points",
            "update scenarios",
            "command results checked for a traceback",
        )
        if k in found
    ]
    lines = ["| what the tests tried | count |", "| --- | --- |"]
    lines += [f"| {k} | {found[k]} |" for k in rows]
    total = sum(found[k] for k in found if k.startswith("bad input: "))
    lines += [f"| bad inputs in all | {total} |", f"| tracebacks | {found['tracebacks']} |"]
    return "\n".join(lines) + "\n"


def write() -> None:
    """Write tests/reliability.json and benchmarks/results/reliability.md."""
    data = {k: counts[k] for k in sorted(counts)} | {"tracebacks": counts["tracebacks"]}
    JSON.write_text(json.dumps(data, indent=2) + "\n")
    header = (
        "# Reliability: what scaffold's fast tests tried\n\n"
        "Written by tests/conftest.py at the end of a complete, passing "
        "`pytest -q tests`; see tests/reliability.py.\n\n"
    )
    MARKDOWN.write_text(header + table(counts))
