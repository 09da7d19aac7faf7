"""The README's usage (its `### scaffold ...` headings and tables) agrees with `--help`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffold.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
HELP_ROW = re.compile(r"^│\s+(?:\*\s+)?(--[\w-]+)(?:\s+(-\w))?\s+(\S+)")


@dataclass
class Usage:
    """One usage form in the README: a command, its arguments and options with metavars."""

    where: str
    command: tuple[str, ...]
    arguments: list[str] = field(default_factory=list)
    options: dict[str, str | None] = field(default_factory=dict)
    complete: bool = False  # True: the README lists every option of the command here


def _parse_form(text: str, usage: Usage) -> None:
    """Read `bases add NAME --from PROJECT [--json]`-like text into `usage`."""
    optional, last_option = False, None
    for token in text.replace("[", " [ ").replace("]", " ] ").split():
        if token in ("[", "]"):
            optional, last_option = token == "[", None
        elif token.startswith("-"):
            last_option = token.rstrip(",")
            usage.options[last_option] = None
        elif last_option is not None:  # the value the option takes
            usage.options[last_option] = token.replace("\\|", "|")
            last_option = None
        elif token.isupper():
            usage.arguments.append(f"[{token}]" if optional else token)
        else:
            usage.command += (token,)


def readme_usages() -> list[Usage]:
    """Every usage form of a `scaffold` command that the README shows."""
    found: list[Usage] = []
    heading: Usage | None = None
    for line in README.read_text().splitlines():
        if line.startswith("#"):
            heading = None
            title = re.fullmatch(r"### `scaffold ([^`]*)`", line)
            if title:
                heading = Usage(line, ())
                _parse_form(title.group(1), heading)
                found.append(heading)
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] if line[:1] == "|" else []
        if heading is None or not cells or cells[0] in ("Option", "Command") or "---" in cells[0]:
            continue
        if cells[0].startswith("`-"):  # an Option table: its rows complete the heading's form
            heading.complete = True
            for piece in cells[0].split(","):  # `--data KEY=VALUE`, `-d`
                name, _, metavar = piece.strip().strip("`").partition(" ")
                heading.options[name] = metavar.replace("\\|", "|") or None
        elif cells[0].startswith("`scaffold "):  # a Command table: one form per row
            row = Usage(line[:60], ())
            _parse_form(cells[0].strip("`").removeprefix("scaffold "), row)
            for span in re.findall(r"`(--[^`]+)`", cells[1]):
                _parse_form(span, row)
            row.complete = row.command[:1] == ("bases",)
            found.append(row)
    return found


@dataclass
class Help:
    usage_line: str
    options: dict[str, str]  # name -> metavar column ("<bool>", "KEY=VALUE", ...)


def command_help(command: tuple[str, ...]) -> Help:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    usage_line = next(line for line in lines if "Usage:" in line)
    options: dict[str, str] = {}
    for line in lines:
        match = HELP_ROW.match(line)
        if match:
            long, short, metavar = match.groups()
            options[long] = metavar
            if short:
                options[short] = metavar
    options.pop("--help", None)
    return Help(usage_line, options)


USAGES = readme_usages()


def test_the_readme_shows_every_command() -> None:
    shown = {u.command for u in USAGES}
    assert {("new",), ("update",), ("variants",), ("bases", "add"), ("bases", "list")} <= shown
    assert {("bases", "show"), ("bases", "remove"), ()} <= shown  # () is `scaffold --version`


@pytest.mark.parametrize("usage", USAGES, ids=lambda u: " ".join(u.command) or "scaffold")
def test_readme_usage_matches_help(usage: Usage) -> None:
    helped = command_help(usage.command)
    if usage.command == ():  # the top level: only --version is shown
        assert set(usage.options) == {"--version"}
        assert "--version" in helped.options
        return
    unknown = set(usage.options) - set(helped.options)
    assert not unknown, f"{usage.where}: not in --help: {unknown}"
    if usage.complete:
        missing = set(helped.options) - set(usage.options)
        assert not missing, f"{usage.where}: --help has options the README leaves out: {missing}"
    for name, metavar in usage.options.items():
        if metavar is not None:  # the README names a value: --help shows the same one
            assert helped.options[name].strip("<>[]") == metavar, (usage.where, name)
    if "COMMAND" in helped.usage_line:  # a group (`scaffold bases`): its commands are shown
        return
    pieces = helped.usage_line.split("[OPTIONS]", 1)[1].split()  # NAME, not {name}
    assert pieces == usage.arguments, f"{usage.where}: {helped.usage_line.strip()}"
