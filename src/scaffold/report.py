"""Console output shared by the commands, and the one place where errors become exit code 1."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable, Iterator
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
            with _terminate_as_interrupt():
                command(*args, **kwargs)
        except ScaffoldError as error:
            if error.details:
                err.print(error.details, style="dim", markup=False)
            fail(str(error))
        except KeyboardInterrupt:
            fail("Cancelled; nothing was written.")

    return run


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (`kill`, a CI timeout) like Ctrl-C, so that the same clean-up runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def fail(message: str) -> None:
    """Print `message` as an error and exit with code 1."""
    # markup=False: messages quote user input such as "features=[x]"; undecodable bytes
    # of a command line (lone surrogates) are written as escapes, not as a traceback.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    err.print(f"Error: {message}", style="red", markup=False)
    raise typer.Exit(code=1)
