"""Console output shared by the commands, and the one place where errors become exit code 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from scaffold.errors import ScaffoldError

out = Console(highlight=False, soft_wrap=True)  # long paths stay copy-pasteable
err = Console(stderr=True, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """Progress: a dim line on standard output."""
    out.print(message, style="dim", markup=False)


def reporting(command: Callable[..., None]) -> Callable[..., None]:
    """Turn ScaffoldError into its details, a red line and exit code 1, with no traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except ScaffoldError as error:
            if error.details:
                err.print(error.details, style="dim", markup=False)
            fail(str(error))
        except KeyboardInterrupt:
            fail("Cancelled; nothing was written.")

    return run


def fail(message: str) -> None:
    """Print `message` as an error and exit with code 1."""
    # markup=False: messages quote user input such as "features=[x]".
    err.print(f"Error: {message}", style="red", markup=False)
    raise typer.Exit(code=1)
