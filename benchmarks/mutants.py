"""Mutation testing: how many planted bugs in a generated project's logic its own tests catch.

    python benchmarks/mutants.py                       # every module below (nox -s mutants)
    python benchmarks/mutants.py --only schedule dsd   # some of them
    python benchmarks/mutants.py --keep /tmp/mut       # keep the rendered projects there

The cnn baseline with every feature is rendered (`scaffold new DIR --defaults --no-git`,
SCAFFOLD_HOME from the environment) into a temporary folder. mutmut (3.8) then plants one
bug at a time in each logic module (an operator, a constant, a condition, an argument
changed) and runs that module's own fast test file(s) against it, with OMP_NUM_THREADS=1:
a mutant is killed when a test fails (or it never finishes: a timeout), and it survives
when every test still passes. mutmut is configured in the rendered project only: a
`[mutmut]` section in its setup.cfg names the module and its test files. Each module runs in
its own copy of the project, two at a time (`--jobs`), each mutmut with one worker.

A surviving mutant is a missing test, or a change that cannot alter what the program does
(an equivalent mutant). The equivalent ones are listed in benchmarks/mutants-equivalent.txt,
each as a line `MODULE FUNCTION: BEFORE => AFTER` (the changed source lines, as in the
report) and an indented line saying why; a listed mutant counts as not surviving. Matching
is by that text, not by mutmut's numbering, which shifts when the code changes.

Writes benchmarks/results/mutants.{md,json} (per module: killed, equivalent, surviving) and
mutants.txt (each surviving mutant: module, line, diff). Exit 1 when fewer than 85% of the
mutants are killed or listed as equivalent.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _common import date_and_command, markdown_table, meta, new_project

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
EQUIVALENT = ROOT / "benchmarks" / "mutants-equivalent.txt"
BAR = 0.85
PACKAGE = "mutated"
FEATURES = (
    "features=["
    + ", ".join(
        (
            "tensorboard",
            "augment",
            "precision",
            "sgdr",
            "dsd",
            "switch",
            "prune",
            "precompute",
            "compile",
        )
    )
    + "]"
)
# Each logic module (or pair) and the fast test file(s) that own it; a module's mutants run
# against these only. Longest first, so that two at a time finish close together.
MODULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "switch": (("switch.py",), ("test_switch.py",)),
    "ensemble": (("ensemble.py",), ("test_ensemble.py",)),
    "dsd": (("dsd.py",), ("test_dsd.py",)),
    "schedule": (("schedule.py",), ("test_schedule.py",)),
    "lifecycle": (("lifecycle.py", "techniques.py"), ("test_lifecycle.py",)),
    "augment": (("augment.py",), ("test_augment.py",)),
    "metrics": (("metrics.py",), ("test_metrics.py",)),
}
# Command-line glue, not logic: argparse declarations and printing (the CLI tests cover them).
NOT_MUTATED = {"ensemble.py": ("add_parser", "cmd_ensemble")}
# A pytest plugin for the mutation runs only: training tests skip drawing curves.png, which
# took three quarters of a tiny run's time; no test of these files looks at the picture.
SPEEDUPS = f"""\
from {PACKAGE} import plots

plots.curves = lambda *args, **kwargs: None
"""
# mutmut's exit codes of a mutant's test run, by what they mean here.
KILLED = {1: "killed", 3: "killed"}  # tests failed (3: pytest's internal error)
TIMEOUT = {
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    36: "timeout",
    -9: "timeout",
}  # over its CPU or wall time (an endless loop)
OTHER = {0: "survived", 33: "no tests", 5: "no tests", None: "not checked"}
# A mutant's tests get (their time + 3 s) x 4 of wall time, twice that of CPU time.
MUTMUT_CONFIG = """\
[mutmut]
source_paths = src
only_mutate = {only}
pytest_add_cli_args_test_selection = {tests}
also_copy = mutants_speedups.py
pytest_add_cli_args = -m
    not ddp
    -p
    no:cacheprovider
    -p
    mutants_speedups
timeout_multiplier = 4
timeout_constant = 3
"""


@dataclass
class Mutant:
    module: str
    function: str
    name: str  # mutmut's name, for `mutmut show` in a kept project; shifts between runs
    status: str
    line: int = 0
    before: str = ""
    after: str = ""
    diff: str = ""
    why: str = ""  # the reason given in the equivalent list

    @property
    def key(self) -> str:
        """What the equivalent list matches: stable while the mutated lines stay the same."""
        return f"{self.module} {self.function}: {self.before} => {self.after}"


@dataclass
class Group:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]
    mutants: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0
    project: Path = Path()


def squash(lines: list[str]) -> str:
    return " ; ".join(" ".join(line.split()) for line in lines)


def read_equivalent(path: Path) -> dict[str, str]:
    """The equivalent list: {`MODULE FUNCTION: BEFORE => AFTER`: why}."""
    out: dict[str, str] = {}
    key = None
    for number, line in enumerate(path.read_text().splitlines(), 1) if path.exists() else []:
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace():
            if key is None or out[key]:
                raise SystemExit(f"{path}:{number}: a reason without its mutant line above it.")
            out[key] = line.strip()
        else:
            if key is not None and not out[key]:
                raise SystemExit(f"{path}: `{key}` has no indented line saying why.")
            key = " ".join(line.split())
            out[key] = ""
    if key is not None and not out[key]:
        raise SystemExit(f"{path}: `{key}` has no indented line saying why.")
    return out


def function_name(mutant_name: str) -> str:
    """`mutated.schedule.xǁScheduleǁshape__mutmut_7` -> `Schedule.shape`."""
    mangled = mutant_name.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]
    if mangled.startswith("xǁ"):
        return ".".join(mangled[2:].split("ǁ"))
    return mangled.removeprefix("x_")


def mutated_functions(project: Path, module: str) -> list[str]:
    """mutmut's names of the module's functions and methods (`x_name`, `xǁClassǁname`), less
    those in NOT_MUTATED."""
    tree = ast.parse((project / "src" / PACKAGE / module).read_text())
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name not in NOT_MUTATED.get(module, ()):
            names.append(f"x_{node.name}")
        elif isinstance(node, ast.ClassDef):
            methods = [f for f in node.body if isinstance(f, ast.FunctionDef)]
            names += [f"xǁ{node.name}ǁ{f.name}" for f in methods]
    return names


def describe(project: Path, module: str, mutant: Mutant) -> None:
    """Fill in the mutant's diff, its changed lines and its line number in the module."""
    from mutmut.configuration import reset_config
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    source = Path("src") / PACKAGE / module
    here = Path.cwd()
    os.chdir(project)
    try:
        reset_config()
        diff = get_diff_for_mutant(mutant.name, path=source)
    finally:
        os.chdir(here)
    body = diff.splitlines()[2:]  # past the --- and +++ lines
    mutant.diff = "\n".join(body)
    mutant.before = squash([x[1:] for x in body if x.startswith("-")])
    mutant.after = squash([x[1:] for x in body if x.startswith("+")])
    changed = next((x[1:] for x in body if x[:1] in "-+"), "")
    lines = (project / source).read_text().splitlines()
    header = re.compile(rf"\s*def {mutant.function.split('.')[-1]}\(")
    start = next((i for i, x in enumerate(lines) if header.match(x)), 0)
    found = (i + 1 for i, x in enumerate(lines) if i >= start and x.strip() == changed.strip())
    mutant.line = next(found, start + 1)


def run_group(group: Group, rendered: Path, work: Path) -> Group:
    """mutmut over the group's modules in a copy of the rendered project; its results."""
    project = work / group.name
    shutil.copytree(rendered, project)
    only = "\n    ".join(f"src/{PACKAGE}/{m}" for m in group.modules)
    tests = "\n    ".join(f"tests/{t}" for t in group.tests)
    config = MUTMUT_CONFIG.format(only="\n    " + only, tests="\n    " + tests)
    (project / "setup.cfg").write_text(config)
    (project / "mutants_speedups.py").write_text(SPEEDUPS)
    names = [
        f"{PACKAGE}.{m[:-3]}.{f}__mutmut_*"
        for m in group.modules
        for f in mutated_functions(project, m)
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = project / "mutmut.log"
    start = time.perf_counter()
    mutmut = Path(sys.executable).with_name("mutmut")
    with log.open("w") as out:
        done = subprocess.run(
            [str(mutmut), "run", "--max-children", "1", *names],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    group.seconds = time.perf_counter() - start
    if done.returncode != 0:
        text = log.read_text().replace("\r", "\n")
        tail = "\n".join(x for x in text.splitlines()[-40:] if "⠋" not in x)
        raise SystemExit(f"mutmut failed for {group.name} (log: {log}):\n{tail}")
    for module in group.modules:
        data = json.loads((project / "mutants" / "src" / PACKAGE / f"{module}.meta").read_text())
        for name, code in data["exit_code_by_key"].items():
            if function_name(name) in NOT_MUTATED.get(module, ()):
                continue
            status = KILLED.get(code) or TIMEOUT.get(code) or OTHER.get(code, f"exit {code}")
            group.mutants.append(Mutant(module, function_name(name), name, status))
    group.project = project
    return group


def render(where: Path) -> Path:
    home = Path(os.environ.get("SCAFFOLD_HOME", ROOT / ".nox" / "scaffold-home"))
    return new_project(where / PACKAGE, home, "baseline=cnn", FEATURES)


def count(mutants: list[Mutant]) -> dict[str, int]:
    killed = sum(m.status in ("killed", "timeout") for m in mutants)
    equivalent = sum(bool(m.why) for m in mutants)
    return {
        "mutants": len(mutants),
        "killed": killed,
        "timeout": sum(m.status == "timeout" for m in mutants),
        "equivalent": equivalent,
        "surviving": len(mutants) - killed - equivalent,
    }


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(groups: list[Group], equivalent: dict[str, str], info: dict, out: Path) -> bool:
    """Print and write the reports; True when the score reaches the bar."""
    everything = [m for g in groups for m in g.mutants]
    for m in everything:
        if m.status not in ("killed", "timeout"):
            m.why = equivalent.get(m.key, "")
    rows, per_module = [], {}
    for g in groups:
        c = count(g.mutants)
        per_module[g.name] = c | {
            "modules": list(g.modules),
            "tests": list(g.tests),
            "seconds": round(g.seconds, 1),
        }
        rows.append(
            [
                f"`{'`, `'.join(g.modules)}`",
                f"`{'`, `'.join(g.tests)}`",
                c["mutants"],
                f"{c['killed']} ({percent(c['killed'], c['mutants'])})",
                c["equivalent"],
                c["surviving"],
                f"{g.seconds:.0f}",
            ]
        )
    total = count(everything)
    killed = f"{total['killed']} ({percent(total['killed'], total['mutants'])})"
    rows.append(
        [
            "all",
            "",
            total["mutants"],
            killed,
            total["equivalent"],
            total["surviving"],
            f"{info['wall_s']:.0f} (wall)",
        ]
    )
    not_surviving = total["killed"] + total["equivalent"]
    score = not_surviving / total["mutants"] if total["mutants"] else 0.0
    passed = score >= BAR
    used = {m.key for m in everything if m.why}
    unused = sorted(k for k in equivalent if k not in used)
    killed_keys = {m.key for m in everything if m.status in ("killed", "timeout")}
    summary = (
        f"killed {total['killed']} of {total['mutants']} ({killed.split('(')[1][:-1]}; "
        f"{total['timeout']} by timeout); {total['equivalent']} more listed as equivalent; "
        f"{total['surviving']} surviving: {not_surviving} of {total['mutants']} not surviving "
        f"({percent(not_surviving, total['mutants'])}), the bar is {BAR:.0%}"
    )

    for g in groups:
        c = per_module[g.name]
        print(
            f"{', '.join(g.modules):28} killed {c['killed']} of {c['mutants']} "
            f"({percent(c['killed'], c['mutants'])}), {c['equivalent']} equivalent, "
            f"{c['surviving']} surviving, {g.seconds:.0f} s"
        )
    print(summary)
    for key in unused:
        note = "now killed: not equivalent" if key in killed_keys else "matches no mutant"
        print(f"note: equivalent entry {note}: {key}")

    surviving = [m for m in everything if m.status not in ("killed", "timeout") and not m.why]
    text = [
        f"# Surviving mutants ({len(surviving)})",
        "",
        "Each: module, line, function, status; the line for benchmarks/mutants-equivalent.txt;",
        "the diff.",
        "",
    ]
    for m in surviving:
        title = f"## {m.module}:{m.line} {m.function} ({m.status}; mutmut {m.name})"
        text += [title, m.key, m.diff, ""]
    text += [f"# Listed as equivalent ({total['equivalent']})", ""]
    text += [f"{m.module}:{m.line} {m.key}\n    {m.why}" for m in everything if m.why]
    (out / "mutants.txt").write_text("\n".join(text) + "\n")
    md = (
        f"- machine: {info['machine']}, mutmut {info['mutmut']}, Python {info['python']}, "
        f"load average {info['load_before']} before, {info['load_after']} after\n"
        + date_and_command(info)
        + f"- wall time: {info['wall_s'] / 60:.1f} min{cpu_time(info)}; {summary}\n\n"
        + markdown_table(
            ["module", "tests", "mutants", "killed", "equivalent", "surviving", "s"], rows
        )
        + "\n"
    )
    (out / "mutants.md").write_text(md)
    (out / "mutants.json").write_text(
        json.dumps(
            {
                "meta": info,
                "bar": BAR,
                "score": round(score, 4),
                "passed": passed,
                "total": total,
                "modules": per_module,
                "surviving": [asdict(m) for m in surviving],
                "equivalent": [asdict(m) for m in everything if m.why],
                "unused_equivalent": unused,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"Wrote {out / 'mutants.md'}, mutants.json and mutants.txt (the surviving mutants).")
    return passed


def rescore(out: Path, equivalent: dict[str, str]) -> None:
    """The last run's report again, with the equivalent list as it is now (no mutmut run)."""
    last = json.loads((out / "mutants.json").read_text())
    left = [Mutant(**{**m, "why": ""}) for m in last["surviving"] + last["equivalent"]]
    groups = []
    for name, c in last["modules"].items():
        group = Group(name, tuple(c["modules"]), tuple(c["tests"]), seconds=c["seconds"])
        mine = [m for m in left if m.module in group.modules]
        timeouts = [Mutant(group.modules[0], "", "", "timeout")] * c["timeout"]
        killed = [Mutant(group.modules[0], "", "", "killed")] * (c["killed"] - c["timeout"])
        group.mutants = killed + timeouts + mine
        groups.append(group)
    info = last["meta"] | {"rescored": datetime.now(UTC).isoformat(timespec="seconds")}
    if not report(groups, equivalent, info, out):
        raise SystemExit(f"Below the bar: under {BAR:.0%} of the mutants killed or equivalent.")


def cpu_time(info: dict[str, Any]) -> str:
    """The CPU time of all the run's processes, and the wall time it means on idle cores.

    On a shared machine the wall time measures the neighbours too; the CPU time does not
    (give or take cache contention), and two jobs that stay busy on two idle cores take
    about half of it as wall time."""
    if "cpu_s" not in info:  # a report from before CPU time was measured
        return ""
    cores = min(info.get("jobs", 2), os.cpu_count() or 1)
    return (
        f" (CPU time {info['cpu_s'] / 60:.1f} min in all: about "
        f"{info['cpu_s'] / cores / 60:.1f} min of wall time on {cores} idle cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(MODULES), help="these modules only")
    parser.add_argument("--jobs", type=int, default=2, help="modules at a time (default 2)")
    parser.add_argument("--keep", type=Path, help="render and run here, and keep it")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the reports go")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="no run: apply the equivalent list to the last report",
    )
    args = parser.parse_args()
    equivalent = read_equivalent(EQUIVALENT)
    if args.rescore:
        rescore(args.out, equivalent)
        return
    start, load_before = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        work = args.keep.absolute() if args.keep else Path(tmp)
        if args.keep:
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        rendered = render(work / "rendered")
        groups = [Group(n, *MODULES[n]) for n in MODULES if not args.only or n in args.only]
        with ThreadPoolExecutor(args.jobs) as pool:
            done = list(pool.map(lambda g: run_group(g, rendered, work), groups))
        for g in done:  # one at a time: mutmut reads the project from the working directory
            for m in g.mutants:
                if m.status not in ("killed", "timeout"):
                    describe(g.project, m.module, m)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # every finished descendant's CPU
    info = meta(
        mutmut=version("mutmut"),
        wall_s=round(time.perf_counter() - start, 1),
        cpu_s=round(used.ru_utime + used.ru_stime, 1),
        load_before=" ".join(f"{x:.2f}" for x in load_before),
        load_after=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        jobs=args.jobs,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    if not report(done, equivalent, info, args.out):
        raise SystemExit(f"Below the bar: under {BAR:.0%} of the mutants killed or equivalent.")


if __name__ == "__main__":
    main()
