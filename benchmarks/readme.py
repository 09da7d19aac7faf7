"""Copy the latest benchmark results into README.md, or check that it holds them.

README.md marks each block of results it quotes:

    <!-- results: baselines.md meta table 1 -->
    ...copied here...
    <!-- /results -->

and this script fills the block from `benchmarks/results/<report>` with the parts named:
`meta` (the report's `- machine:`, `- date:`, `- command:` and `- wall time:` lines) and
`table N` (its N-th Markdown table, verbatim). So every number the README shows in those
blocks is the report's, and `--check` (run by `nox -s lint`) fails when they drift apart.

    python benchmarks/readme.py            # rewrite the blocks (bench and evidence sessions)
    python benchmarks/readme.py --check    # exit 1 naming each block that differs
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BLOCK = re.compile(
    r"(?P<open><!-- results: (?P<report>[\w.-]+\.md) (?P<parts>[\w ]+?) -->\n)"
    r"(?P<body>.*?)(?P<close><!-- /results -->)",
    re.DOTALL,
)
META = ("- machine:", "- date:", "- command:", "- wall time:")


class ReportError(Exception):
    """A block names a report or a part of it that does not exist."""


def tables(text: str) -> list[str]:
    """The report's Markdown tables, each as its lines joined."""
    found, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append("\n".join(current))
            current = []
    return found


def parts(report: str, names: str) -> str:
    """The text of a block: the named parts of `report`, in the order named."""
    path = RESULTS / report
    if not path.is_file():
        raise ReportError(f"README.md quotes {report}, but {path} does not exist.")
    text = path.read_text()
    words, chunks = names.split(), []
    while words:
        word = words.pop(0)
        if word == "meta":
            chunks.append("\n".join(line for line in text.splitlines() if line.startswith(META)))
        elif word == "table" and words and words[0].isdigit():
            number, found = int(words.pop(0)), tables(text)
            if not 1 <= number <= len(found):
                raise ReportError(f"{report} has {len(found)} tables; README.md asks for {number}.")
            chunks.append(found[number - 1])
        else:
            raise ReportError(f"README.md block for {report}: unknown part {word!r}.")
    return "\n\n".join(chunks) + "\n"


def sync(readme: str) -> tuple[str, list[str]]:
    """README text with every block refilled, and the blocks whose text changed."""
    changed: list[str] = []

    def fill(match: re.Match[str]) -> str:
        body = parts(match["report"], match["parts"])
        if body != match["body"]:
            changed.append(f"{match['report']} {match['parts']}")
        return match["open"] + body + match["close"]

    return BLOCK.sub(fill, readme), changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    text = args.readme.read_text()
    try:
        new, changed = sync(text)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not BLOCK.search(text):
        print(f"error: {args.readme} has no <!-- results: ... --> blocks.", file=sys.stderr)
        return 2
    if args.check:
        for block in changed:
            print(f"{args.readme.name} differs from benchmarks/results/{block}", file=sys.stderr)
        if changed:
            print("Run `python benchmarks/readme.py` to copy the results in.", file=sys.stderr)
        return 1 if changed else 0
    if changed:  # a whole new file, renamed into place: never a half-written README
        partial = args.readme.with_name(f".{args.readme.name}.partial")
        partial.write_text(new)
        partial.replace(args.readme)
    print(f"{args.readme.name}: {len(changed)} result blocks updated.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
