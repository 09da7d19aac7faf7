"""scaffold's command line, a thin layer over `scaffold.generate` and `scaffold.variants`.

scaffold new my-project --defaults
scaffold variants --json
python -m scaffold --help
"""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from scaffold import __version__
from scaffold.errors import ScaffoldError
from scaffold.generate import new_project, parse_data
from scaffold.variants import choices, variants

_out = Console(highlight=False, soft_wrap=True)  # long paths stay copy-pasteable
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _reporting(command: Callable[..., None]) -> Callable[..., None]:
    """The one place where errors become a red line and exit code 1, with no traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except ScaffoldError as error:
            _fail(str(error))
        except KeyboardInterrupt:
            _fail("Cancelled; nothing was written.")

    return run


def _fail(message: str) -> None:
    # markup=False: messages quote user input such as "features=[x]".
    _err.print(f"Error: {message}", style="red", markup=False)
    raise typer.Exit(code=1)


app = typer.Typer(
    help="Generate PyTorch projects that start from a working baseline.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"scaffold {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Generate PyTorch projects that start from a working baseline."""


@app.command()
@_reporting
def new(
    path: Annotated[
        Path,
        typer.Argument(
            help="Folder to create the project in (missing parent folders are created). "
            "Its name is the default project name.",
            show_default=False,
        ),
    ],
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults", help="Ask nothing: every answer not given by --data takes its default."
        ),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer a question (repeatable), e.g. -d author='Ada L.' -d features=[]. "
            "Multiselect answers are YAML lists: features=\\[tensorboard].",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help=f"The working model to start from; one of: {', '.join(choices('baseline'))}.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Allow a non-empty folder and write over its files."),
    ] = False,
    no_git: Annotated[
        bool,
        typer.Option("--no-git", help="Don't make the project a git repository."),
    ] = False,
) -> None:
    """Create a new project at PATH; asks copier's questions unless --defaults."""
    answers = parse_data(data or [])
    if baseline is not None:
        if answers.get("baseline", baseline) != baseline:
            raise ScaffoldError("--baseline and --data baseline=... disagree; give one of them.")
        answers["baseline"] = baseline
    made = new_project(
        path,
        answers,
        defaults=defaults,
        overwrite=overwrite,
        git_init=not no_git,
        say=lambda message: _out.print(message, style="dim", markup=False),
    )
    _out.print(f"[green]Created[/green] {made.path} (package {made.package_name}).")
    if made.committed:
        _out.print("It is a git repository with one commit.")
    _out.print("Next:", style="bold")
    _out.print(f"  cd {shlex.quote(str(path))} && pip install -e .", markup=False)
    _out.print(f"  python -m {made.package_name} train", markup=False)


@app.command(name="variants")
def list_variants(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (a list of objects) instead of a table.")
    ] = False,
) -> None:
    """List the template variants that nox renders and tests."""
    found = variants()
    if as_json:
        typer.echo(json.dumps([{"name": v.name, **v.data()} for v in found], indent=2))
        return
    table = Table("name", "baseline", "features")
    for v in found:
        table.add_row(v.name, v.baseline, ", ".join(v.features) or "(none)")
    _out.print(table)
