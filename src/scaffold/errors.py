"""The one exception type the CLI turns into a red line and exit code 1."""

from __future__ import annotations


class ScaffoldError(Exception):
    """A user-facing failure; its message is one sentence that says what to do."""
