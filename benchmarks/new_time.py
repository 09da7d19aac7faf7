"""Generation time: `scaffold new` against a bare `copier copy` of the same template, and
`scaffold update`.

    python benchmarks/new_time.py                 # 5 rounds
    python benchmarks/new_time.py --rounds 9
    nox -s bench                                  # with the other benchmarks

Every command runs as a user would run it, in a fresh subprocess (interpreter start and
imports included), and is timed from start to exit. SCAFFOLD_HOME is a temporary folder.
Each round, in an order that alternates:

- first run: `scaffold new DEST --defaults --no-git -d features=[]` with a fresh, empty
  SCAFFOLD_HOME, so it also builds the per-user template repository (fetch the shipped
  history, commit and tag the packaged template).
- warm: the same command with a home that already holds the repository.
- copier: `copier copy --trust --defaults --vcs-ref TAG -d project_name=... -d
  package_name=... -d features=[] REPO DEST`: the same repository and tag that scaffold
  renders, the same answers (the first round checks that both write identical files).
- update: a project made by `scaffold new` (features=[], committed by scaffold; not
  timed) gets `scaffold update PROJECT -d features=[tensorboard]` (timed): a real update
  that adds the feature's file and edits train.py.

The ratio warm/copier is taken per round; the report gives medians and min..max.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import date_and_command, markdown_table, meta  # noqa: E402

from scaffold import __version__  # noqa: E402
from scaffold.names import default_package_name  # noqa: E402

TARGET = 1.2  # scaffold new within 1.2x of a bare copier copy
NAME = "bench-project"
COPIER = str(Path(sys.executable).with_name("copier"))


def timed(command: list[str], home: Path) -> float:
    env = {**os.environ, "SCAFFOLD_HOME": str(home)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}"[-3000:])
    return seconds


def scaffold_new(dest: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scaffold", "new", str(dest), "--defaults", *extra,
            "-d", "features=[]"]  # fmt: skip


def template_ref(home: Path) -> tuple[str, str]:
    """The per-user repository and the tag that `scaffold new` renders (built if missing)."""
    code = "from scaffold.source import ensure_template_repo as e; r, t = e(); print(r); print(t)"
    env = {**os.environ, "SCAFFOLD_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    repo, tag = out.stdout.split()
    return repo, tag


def copier_copy(dest: Path, repo: str, tag: str) -> list[str]:
    answers = {"project_name": NAME, "package_name": default_package_name(NAME), "features": "[]"}
    data = [arg for k, v in answers.items() for arg in ("-d", f"{k}={v}")]
    return [COPIER, "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", tag, *data,
            repo, str(dest)]  # fmt: skip


def same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    if filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)[1:] != ([], []):
        return False
    return all(same_tree(a / d, b / d) for d in cmp.common_dirs)


def measure(rounds: int, where: Path) -> tuple[list[dict[str, float]], bool]:
    home = where / "home"
    timed(scaffold_new(where / "warm-up" / NAME, "--no-git"), home)  # builds the home repo
    rows, identical = [], True
    for r in range(rounds):
        base = where / f"r{r}"
        repo, tag = template_ref(home)  # the template may change between rounds
        jobs = {  # (command, SCAFFOLD_HOME)
            "first": (scaffold_new(base / "first" / NAME, "--no-git"), base / "home"),
            "warm": (scaffold_new(base / "scaffold" / NAME, "--no-git"), home),
            "copier": (copier_copy(base / "copier" / NAME, repo, tag), home),
        }
        order = list(jobs) if r % 2 == 0 else list(reversed(jobs))
        row = {name: timed(*jobs[name]) for name in order}
        if r == 0:
            identical = same_tree(base / "scaffold" / NAME, base / "copier" / NAME)
        project = base / "update" / NAME
        timed(scaffold_new(project), home)  # a git repository with one commit
        row["update"] = timed(
            [sys.executable, "-m", "scaffold", "update", str(project), "-d",
             "features=[tensorboard]"], home,
        )  # fmt: skip
        if not (project / "src" / default_package_name(NAME) / "tb.py").is_file():
            raise SystemExit("scaffold update did not add the tensorboard feature.")
        rows.append(row)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in row.items()), flush=True)
    return rows, identical


def version(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows, identical = measure(args.rounds, Path(tmp))
    ratios = [row["warm"] / row["copier"] for row in rows]
    first_ratios = [row["first"] / row["copier"] for row in rows]
    summary = {
        name: {
            "median_s": statistics.median(r[name] for r in rows),
            "min_s": min(r[name] for r in rows),
            "max_s": max(r[name] for r in rows),
        }
        for name in rows[0]
    }
    summary["warm/copier"] = {
        "median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)
    }  # fmt: skip
    summary["first/copier"] = {
        "median": statistics.median(first_ratios), "min": min(first_ratios),
        "max": max(first_ratios),
    }  # fmt: skip
    info = meta(
        scaffold=__version__,
        copier=version([COPIER, "--version"]).removeprefix("copier "),
        git=version(["git", "--version"]),
        identical_output=identical,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "new_time.json").write_text(
        json.dumps({"meta": info, "summary": summary, "rounds": rows}, indent=2)
    )
    labels = {
        "copier": "`copier copy --trust --defaults --vcs-ref TAG` (same repo, same answers)",
        "warm": "`scaffold new --defaults --no-git`, home repository present",
        "first": "`scaffold new --defaults --no-git`, fresh SCAFFOLD_HOME (builds the repo)",
        "update": "`scaffold update -d features=[tensorboard]` on a committed features=[] project",
    }
    rows = []
    for name, label in labels.items():
        s = summary[name]
        ratio = summary.get(f"{name}/copier")
        shown = f"{ratio['median']:.2f} ({ratio['min']:.2f}..{ratio['max']:.2f})" if ratio else ""
        rows.append([label, f"{s['median_s']:.2f}", f"{s['min_s']:.2f}..{s['max_s']:.2f}", shown])
    header = ["command", "median s", "min..max s", "ratio to copier (median, min..max)"]
    met = "yes" if summary["warm/copier"]["median"] <= TARGET else "NO"
    report = (
        "# Generation time: `scaffold new` vs a bare `copier copy`, and `scaffold update`\n\n"
        f"- machine: {info['machine']}, Python {info['python']}, scaffold {info['scaffold']}, "
        f"copier {info['copier']}, {info['git']}\n"
        + date_and_command(info)
        + f"- {args.rounds} rounds; each command a fresh subprocess, timed start to exit\n"
        f"- scaffold and copier wrote identical files: {'yes' if identical else 'NO'}\n"
        f"- target: warm `scaffold new` within {TARGET}x of copier: {met}\n\n"
        + markdown_table(header, rows)
        + "\n"
    )
    (args.out / "new_time.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
