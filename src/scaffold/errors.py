"""The one exception type the CLI turns into a red line and exit code 1."""

from __future__ import annotations


class ScaffoldError(Exception):
    """A user-facing failure; its message is one sentence that says what to do.

    `details` (e.g. the last lines of a failed check) is shown before that sentence.
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details
