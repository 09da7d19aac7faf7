"""`scaffold bases ...`: the built-in baselines and the user's own proven bases.

scaffold bases add my-net --from path/to/project
scaffold bases list
scaffold bases show my-net
scaffold bases remove my-net
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich.table import Table

from scaffold.bases import Base, add_base, get_base, list_bases, remove_base, usable
from scaffold.report import out, reporting, say
from scaffold.template import baseline_model_config


class PlainUsage(typer.core.TyperCommand):
    """Usage lines as `NAME` for a required argument (this typer version prints `{NAME}`)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]


bases_app = typer.Typer(
    help="Working bases: the built-in baselines and your own proven models.",
    no_args_is_help=True,
)


def _checks_line(base: Base) -> str:
    if base.builtin:
        return "built-in: rendered and tested by scaffold's CI"
    if base.damaged:
        return f"DAMAGED: {base.damaged}"
    checks: dict[str, Any] = base.meta.get("checks", {})
    return "; ".join(
        f"{name} {'passed' if c.get('passed') else 'FAILED'} ({c.get('summary')})"
        for name, c in checks.items()
    )


def _as_json(base: Base) -> dict[str, Any]:
    return {
        "name": base.name,
        "builtin": base.builtin,
        "baseline": base.baseline,
        "description": base.description,
        "folder": str(base.folder) if base.folder else None,
        **({"model_config": baseline_model_config(base.name)} if base.builtin else {}),
        **({"meta": base.meta} if base.meta else {}),
        **({"damaged": base.damaged} if base.damaged else {}),
    }


@bases_app.command("list")
@reporting
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the built-in baselines and your bases, with their check results."""
    found = list_bases()
    if as_json:
        typer.echo(json.dumps([_as_json(b) for b in found], indent=2))
        return
    table = Table("name", "kind", "baseline", "about", "checks")
    for base in found:
        kind = "built-in" if base.builtin else "yours"
        about = base.description
        if not base.builtin and not base.damaged:
            about = f"from {base.meta.get('source', {}).get('path')}, {base.meta.get('created')}"
        table.add_row(base.name, kind, base.baseline, about, _checks_line(base))
    out.print(table)


@bases_app.command("show", cls=PlainUsage)
@reporting
def show_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A base's name.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one base: where it came from, its model config and its check results."""
    base = usable(get_base(name))
    if as_json:
        typer.echo(json.dumps(_as_json(base), indent=2))
        return
    out.print(f"[bold]{base.name}[/bold] ({'built-in baseline' if base.builtin else 'your base'})")
    out.print(f"  baseline: {base.baseline}: {base.description}", markup=False)
    if base.builtin:
        config = json.dumps(baseline_model_config(base.name))
        out.print(f"  model config (the template's default): {config}", markup=False)
        out.print(f"  checks: {_checks_line(base)}", markup=False)
        return
    meta = base.meta
    source = meta.get("source", {})
    commit = f" at commit {source['git_commit'][:12]}" if source.get("git_commit") else ""
    out.print(f"  from: {source.get('path')}{commit}", markup=False)
    out.print(
        f"  made: {meta.get('created')} with scaffold {meta.get('scaffold_version')}, "
        f"template {meta.get('template_version')}",
        markup=False,
    )
    out.print(f"  model config: {json.dumps(meta.get('model_config'))}", markup=False)
    for check_name, check in meta.get("checks", {}).items():
        state = "passed" if check.get("passed") else "FAILED"
        out.print(
            f"  {check_name}: {state} in {check.get('seconds')} s: {check.get('summary')}",
            markup=False,
        )
    out.print(f"  folder: {base.folder}", markup=False)


@bases_app.command("add", cls=PlainUsage)
@reporting
def add_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Name for the new base.", show_default=False)
    ],
    project: Annotated[
        Path,
        typer.Option(
            "--from",
            metavar="PROJECT",
            help="A project made by `scaffold new` that you worked on.",
            show_default=False,
        ),
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace an existing base of that name.")
    ] = False,
    python: Annotated[
        str,
        typer.Option(
            metavar="PATH",
            help="Python that has the project's dependencies (torch, ...).",
            show_default="the Python running scaffold",
        ),
    ] = sys.executable,
) -> None:
    """Check a project (capacity check, its tests, a new project from it) and keep its model."""
    base = add_base(name, project, replace=replace, python=python, say=say)
    out.print(f"[green]Stored[/green] the base {base.name!r} in {base.folder}.")
    out.print(f"  checks: {_checks_line(base)}", markup=False)
    out.print(f"Use it: scaffold new my-project --base {base.name}", markup=False)


@bases_app.command("remove", cls=PlainUsage)
@reporting
def remove_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The base to delete.", show_default=False)
    ],
) -> None:
    """Delete one of your bases (projects made from it keep their files)."""
    folder = remove_base(name)
    out.print(f"Removed the base {name!r} ({folder}).", markup=False)
