"""The errors a user can cause, each one sentence that says what to do.

`cli.run` turns them into that sentence and an exit status (2 for a config mistake, 1 for
the rest); no user mistake ends in a traceback. They live here, at the bottom of the
package, so that every module can raise them without importing anything above it.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config key or value the user gave is not valid."""


class DataError(ValueError):
    """The data source cannot be used."""


class NonFiniteError(RuntimeError):
    """Training produced a NaN or an infinity."""


def failed(*checks: tuple[bool, str]) -> list[str]:
    """The messages of the checks that did not hold: every config section's `problems()`."""
    return [message for ok, message in checks if not ok]
