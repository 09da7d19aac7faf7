"""scaffold's command line, a thin layer over `scaffold.generate`, `update` and `bases`.

scaffold new my-project --defaults
scaffold update my-project --dry-run
scaffold check my-project
scaffold diff my-project
scaffold bases list
scaffold variants --json
python -m scaffold --help
"""

from __future__ import annotations

import json
import shlex
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scaffold import __version__
from scaffold.bases import base_overlay, base_version, get_base, usable
from scaffold.cli_bases import PlainUsage, bases_app
from scaffold.drift import check_project
from scaffold.errors import ScaffoldError
from scaffold.generate import new_project, parse_data
from scaffold.report import out, reporting, say
from scaffold.source import ensure_template_repo
from scaffold.update import Updated, diff_project, update_project
from scaffold.variants import choices, variants

app = typer.Typer(
    help="Generate PyTorch projects that start from a working baseline.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
)
app.add_typer(bases_app, name="bases")

_DATA_HELP = (
    "Answer a question (repeatable), e.g. -d author='Ada L.' -d features=[]. "
    "Multiselect answers are YAML lists: features=\\[tensorboard]."
)
_TRUST_HELP = (
    "Let a template other than scaffold's own run copier tasks, migrations and Jinja extensions."
)


class ConflictStyle(str, Enum):
    """How `scaffold update` leaves a change that both sides made."""

    inline = "inline"
    rej = "rej"


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


@app.command(cls=PlainUsage)
@reporting
def new(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH",
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
        typer.Option("--data", "-d", metavar="KEY=VALUE", help=_DATA_HELP, show_default=False),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help=f"The working model to start from; one of: {', '.join(choices('baseline'))}.",
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Start from a base: a built-in baseline or one of yours (`scaffold bases list`).",
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
    template: Annotated[
        str | None,
        typer.Option(
            metavar="SRC",
            help="Render another copier template (a path or git URL) instead of scaffold's.",
            show_default=False,
        ),
    ] = None,
    trust: Annotated[bool, typer.Option("--trust", help=_TRUST_HELP)] = False,
) -> None:
    """Create a new project at PATH; asks copier's questions unless --defaults."""
    answers = parse_data(data or [], known=template is None)
    chosen = usable(get_base(base)) if base is not None else None
    if chosen is not None and template is not None:
        raise ScaffoldError("--base works with scaffold's own template only; drop --template.")
    if baseline is not None:
        if answers.get("baseline", baseline) != baseline:
            raise ScaffoldError("--baseline and --data baseline=... disagree; give one of them.")
        answers["baseline"] = baseline
    if chosen is not None:
        if answers.get("baseline", chosen.baseline) != chosen.baseline:
            raise ScaffoldError(
                f"The base {chosen.name!r} is a {chosen.baseline} model, not "
                f"{answers['baseline']}; drop --baseline or the base."
            )
        answers["baseline"] = chosen.baseline
    version = None
    if chosen is not None and not chosen.builtin:
        answers["base"] = chosen.name
        version = base_version(chosen)
    made = new_project(
        path,
        answers,
        defaults=defaults,
        overwrite=overwrite,
        git_init=not no_git,
        template=template,
        trust=trust,
        version=version,
        overlay=base_overlay(chosen) if chosen is not None else None,
        say=say,
    )
    package = f" (package {made.package_name})" if made.package_name else ""
    out.print(f"[green]Created[/green] {made.path}{package}.")
    if chosen is not None and not chosen.builtin:
        out.print(f"Its model is your base {chosen.name!r} ({chosen.description}).", markup=False)
        current = ensure_template_repo()[1]
        if made.template_ref and made.template_ref != current:
            out.print(
                f"It is at template {made.template_ref}, the base's; "
                f"`scaffold update` brings it to {current}.",
                markup=False,
            )
    if made.committed:
        out.print("It is a git repository with one commit.")
    if made.package_name:
        out.print("Next:", style="bold")
        out.print(f"  cd {shlex.quote(str(path))} && pip install -e .", markup=False)
        out.print(f"  python -m {made.package_name} train", markup=False)


@app.command()
@reporting
def update(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="The project to update (a clean git work tree)."),
    ] = Path("."),
    to: Annotated[
        str | None,
        typer.Option(
            metavar="VERSION", help="Template version to go to (default: this scaffold's)."
        ),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Change an answer (repeatable), e.g. -d features=\\[tensorboard].",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    conflict: Annotated[
        ConflictStyle,
        typer.Option(help="Leave conflicts as inline markers or as *.rej files."),
    ] = ConflictStyle.inline,
    template: Annotated[
        str | None,
        typer.Option(
            metavar="SRC",
            help="Update from this copier template (e.g. its new location) instead of the "
            "one the project records.",
            show_default=False,
        ),
    ] = None,
    trust: Annotated[bool, typer.Option("--trust", help=_TRUST_HELP)] = False,
) -> None:
    """Bring a newer template version (or new answers) into PATH, keeping your edits.

    Exits 1 when the update left conflicts, listing each conflicted file.
    """
    known = template is None  # scaffold's questions; another template's are its own
    result = update_project(
        path,
        to=to,
        data=parse_data(data or [], known=known) or None,
        template=template,
        trust=trust,
        conflict=conflict.value,
        dry_run=dry_run,
        say=say,
    )
    _report_update(result, conflict)


def _report_update(result: Updated, conflict: ConflictStyle) -> None:
    where = result.path
    if result.old == result.new and not result.changed and not result.conflicts:
        out.print(f"{where} is already at template {result.new}; nothing changed.", markup=False)
        return
    verb = "Would update" if result.dry_run else "Updated"
    count = len(result.changed) + len(result.conflicts)
    out.print(
        f"{verb} {where} from template {result.old} to {result.new}: "
        f"{count} file{'s' if count != 1 else ''} changed.",
        markup=False,
    )
    for status, name in result.changed:
        out.print(f"  {status:9} {name}", markup=False)
    for name in result.conflicts:
        hint = f" (see {name}.rej)" if conflict is ConflictStyle.rej else ""
        out.print(f"  [red]conflict[/red]  {name}{hint}")
    if result.dry_run:
        out.print("Dry run: nothing was written.")
        if result.conflicts:
            n = len(result.conflicts)
            raise ScaffoldError(
                f"The update would leave conflicts in {n} file{'s' if n != 1 else ''}; "
                "nothing was written."
            )
        return
    if result.conflicts:
        how = (
            "apply the *.rej hunks by hand"
            if conflict is ConflictStyle.rej
            else "resolve the <<<<<<< >>>>>>> markers"
        )
        n = len(result.conflicts)
        raise ScaffoldError(
            f"The update left conflicts in {n} file{'s' if n != 1 else ''}; {how}, then commit."
        )
    out.print("Review with `git diff`, then commit.", markup=False)


@app.command()
@reporting
def check(
    path: Annotated[Path, typer.Argument(help="The project to check.")] = Path("."),
) -> None:
    """Exit 0 when PATH is at this scaffold's newest template version, 1 when it is behind.

    When behind, lists the template files that changed between the two versions;
    `scaffold diff` shows what `scaffold update` would do with them.
    """
    drift = check_project(path)
    if not drift.behind:
        out.print(
            f"{drift.path} is at template {drift.current}, the newest of scaffold {__version__}.",
            markup=False,
        )
        return
    n = len(drift.changed)
    out.print(
        f"{drift.path} is at template {drift.current}; the newest is {drift.newest} "
        f"({n} template file{'s' if n != 1 else ''} changed):",
        markup=False,
    )
    for name in drift.changed:
        out.print(f"  {name}", markup=False)
    raise ScaffoldError(
        f"The project is behind: template {drift.current}, newest {drift.newest}; "
        "`scaffold diff` shows what `scaffold update` would change."
    )


@app.command()
@reporting
def diff(
    path: Annotated[Path, typer.Argument(help="The project (a clean git work tree).")] = Path("."),
    to: Annotated[
        str | None,
        typer.Option(
            metavar="VERSION", help="Template version to go to (default: this scaffold's)."
        ),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data", "-d", metavar="KEY=VALUE", help="Change an answer.", show_default=False
        ),
    ] = None,
) -> None:
    """Print, as a unified diff, what `scaffold update` would change in PATH; write nothing.

    Exits 1 when the update would leave conflicts (their markers are in the diff).
    """
    # No progress lines: standard output is the diff alone, for a pager or `git apply`.
    result, text = diff_project(path, to=to, data=parse_data(data or []) or None)
    if not text:
        out.print(f"{result.path}: `scaffold update` would change nothing.", markup=False)
    else:
        typer.echo(text, nl=False)
    if result.conflicts:
        n = len(result.conflicts)
        raise ScaffoldError(
            f"The update would leave conflicts in {n} file{'s' if n != 1 else ''}: "
            f"{', '.join(result.conflicts)}."
        )


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
    out.print(table)
