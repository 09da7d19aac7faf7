"""Working bases: the model of a project the user has worked on, proven and kept for new projects.

    scaffold bases add my-net --from path/to/project    # runs its checks, then stores it
    scaffold new other --base my-net                    # a new project with that model

A base lives in `$SCAFFOLD_HOME/bases/NAME/`:
    model.py        the project's src/<package>/model.py (its ModelConfig and build_model)
    test_model.py   the project's tests/test_model.py (its tests of that model)
    modules/        project modules that model.py imports and the template does not make
    default.toml    the project's configs/default.toml; its [model] section (the
                    ModelConfig defaults) goes into new projects, the other sections
                    come from the template with its config.py
    meta.json       provenance and check results (see `add_base`)
A base is stored only when the project's capacity check and tests pass, and when a new
project made from it passes its own tests. Built-in baselines are the template's.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from scaffold import __version__
from scaffold.checks import Check, run_checks
from scaffold.errors import ScaffoldError
from scaffold.generate import Overlay, new_project
from scaffold.git import git, git_available
from scaffold.names import base_name_problem
from scaffold.source import ensure_template_repo, has_tag, scaffold_home
from scaffold.variants import questions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The folders `bases list` looks at: the rule of names before `names.base_name_problem`,
# which is stricter, so that a base kept by an older scaffold is still listed.
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_SECTION = re.compile(r"^\s*\[([^\]]+)\]")


@dataclass(frozen=True)
class Base:
    """A built-in baseline (folder None) or one of the user's bases."""

    name: str
    baseline: str
    description: str
    meta: dict[str, Any]
    folder: Path | None = None
    damaged: str = ""  # why its meta.json cannot be read ("" when it can)

    @property
    def builtin(self) -> bool:
        """Whether it is one of the template's baselines."""
        return self.folder is None


def bases_folder() -> Path:
    """Where the user's bases are kept."""
    return scaffold_home() / "bases"


def builtin_bases() -> list[Base]:
    """The template's baselines."""
    spec = questions()["baseline"]["choices"]
    return [
        Base(str(value), str(value), str(label).partition(" - ")[2] or str(label), {})
        for label, value in spec.items()
    ]


def list_bases() -> list[Base]:
    """The built-in baselines, then the user's bases by name."""
    folder = bases_folder()
    mine = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return builtin_bases() + [_load(name) for name in mine if _NAME.fullmatch(name)]


def get_base(name: str) -> Base:
    """The base called `name` (perhaps marked damaged); ScaffoldError when there is none."""
    for base in builtin_bases():
        if base.name == name:
            return base
    if _NAME.fullmatch(name) and (bases_folder() / name).is_dir():
        return _load(name)
    raise ScaffoldError(f"There is no base named {name!r}; `scaffold bases list` shows them.")


def remove_base(name: str) -> Path:
    """Delete the user's base `name`; return the folder it was in."""
    base = get_base(name)
    if base.folder is None:
        raise ScaffoldError(f"{name!r} is a built-in baseline; it cannot be removed.")
    shutil.rmtree(base.folder)
    return base.folder


def add_base(
    name: str,
    project: str | Path,
    *,
    replace: bool = False,
    python: str = sys.executable,
    say: Callable[[str], None] = lambda message: None,
) -> Base:
    """Check the project at `project` and keep its model as the base `name`.

    Runs the project's capacity check and tests with `python`, then makes a new project
    from the candidate base and runs its tests; stores the base only when all pass.
    meta.json records the source project (path, git commit), the date, scaffold's and
    the template's version, the baseline, the ModelConfig defaults and every check.
    """
    _check_name(name, replace)
    project = Path(project).absolute()
    answers = _project_answers(project)
    package, baseline = str(answers["package_name"]), str(answers["baseline"])
    version = str(answers["_commit"]) if answers.get("_commit") else None
    folder = bases_folder()
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{name}-{secrets.token_hex(4)}"
    staged.mkdir()
    try:
        model_config = _collect(project, package, staged)
        checks = _passed(run_checks(project, package, python=python, say=say), str(project))
        with tempfile.TemporaryDirectory(prefix="scaffold-base-") as tmp:
            candidate = Base(name, baseline, "", {"source": {"package_name": package}}, staged)
            fresh = Path(tmp) / "fresh-project"
            say(f"Making a new project from the base in {fresh}")
            new_project(
                fresh,
                {"baseline": baseline, "features": answers.get("features", [])},
                defaults=True,
                git_init=False,
                version=_render_version(version),
                overlay=base_overlay(candidate, modules_from=project / "src" / package),
            )
            (tests,) = run_checks(fresh, "fresh_project", python=python, only=("tests",), say=say)
            tests = dataclasses.replace(tests, name="new-project tests")
            checks += _passed([tests], "a new project made from the base")
        meta = {
            "name": name,
            "baseline": baseline,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "scaffold_version": __version__,
            "template_version": version,  # the project's, which the base was proven with
            "source": _provenance(project, answers),
            "model_config": model_config,
            "checks": {check.name: check.record() for check in checks},
        }
        (staged / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _move_into_place(staged, folder / name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return _load(name)


def base_overlay(base: Base, *, modules_from: Path | None = None) -> Overlay:
    """What `new_project` calls to put `base`'s model into a freshly rendered project.

    `modules_from` (while adding a base): the source project's package, from which the
    modules that model.py imports and the template does not render join the base.
    """

    def overlay(rendered: Path, package: str) -> None:
        if base.folder is None:
            return  # a built-in baseline is the template's own
        pkg = rendered / "src" / package
        old_package = str(base.meta.get("source", {}).get("package_name", ""))
        if modules_from is not None:
            _keep_imported_modules(base.folder, pkg, modules_from)
        shutil.copyfile(base.folder / "model.py", pkg / "model.py")
        for module in sorted((base.folder / "modules").glob("*.py")):
            shutil.copyfile(module, pkg / module.name)
        tests = base.folder / "test_model.py"
        if tests.is_file():
            text = _rename_package(tests.read_text(encoding="utf-8"), old_package, package)
            (rendered / "tests" / "test_model.py").write_text(text, encoding="utf-8")
        default = rendered / "configs" / "default.toml"
        ours = (base.folder / "default.toml").read_text(encoding="utf-8")
        default.write_text(
            _with_section(default.read_text(encoding="utf-8"), "model", ours), encoding="utf-8"
        )

    return overlay


def base_version(base: Base) -> str | None:
    """The template version to render a project from `base` at (None: this scaffold's)."""
    if base.folder is None:
        return None
    return _render_version(base.meta.get("template_version"))


# ------------------------------------------------------------------ helpers


def _load(name: str) -> Base:
    """The user's base `name`; one whose meta.json cannot be read comes back marked damaged."""
    folder = bases_folder() / name
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or not isinstance(meta.get("source", {}), dict):
            raise ValueError("it is not the JSON object scaffold writes")
    except (OSError, ValueError) as error:
        why = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Base(name, "", f"damaged: meta.json: {why}", {}, folder, damaged=why)
    source = meta.get("source", {}).get("path")
    description = f"your {meta.get('baseline', '?')} model from {source}"
    return Base(name, str(meta.get("baseline", "")), description, meta, folder)


def usable(base: Base) -> Base:
    """`base`, or ScaffoldError when it is damaged."""
    if base.damaged:
        raise ScaffoldError(
            f"The base {base.name!r} in {base.folder} is damaged ({base.damaged}); "
            f"remove it with `scaffold bases remove {base.name}` and add it again."
        )
    return base


def _check_name(name: str, replace: bool) -> None:
    if problem := base_name_problem(name):
        raise ScaffoldError(problem)
    if any(base.name == name for base in builtin_bases()):
        raise ScaffoldError(f"{name!r} is a built-in baseline; choose another name.")
    if (bases_folder() / name).exists() and not replace:
        raise ScaffoldError(f"A base named {name!r} exists; pass --replace to replace it.")


def _project_answers(project: Path) -> dict[str, Any]:
    """The answers of a project made by scaffold; ScaffoldError for anything else."""
    not_ours = f"{project} is not a project made by `scaffold new`"
    try:
        answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raise ScaffoldError(f"{not_ours} (no readable .copier-answers.yml).") from None
    if not isinstance(answers, dict) or not {"package_name", "baseline"} <= answers.keys():
        raise ScaffoldError(f"{not_ours} (its answers name no package_name and baseline).")
    if str(answers["baseline"]) not in {b.name for b in builtin_bases()}:
        raise ScaffoldError(f"{not_ours}: its baseline {answers['baseline']!r} is unknown.")
    package = project / "src" / str(answers["package_name"])
    for needed in (package / "model.py", project / "configs" / "default.toml"):
        if not needed.is_file():
            raise ScaffoldError(f"{not_ours} ({needed} is missing).")
    return answers


def _collect(project: Path, package: str, staged: Path) -> dict[str, Any]:
    """Copy the model's files into `staged`; return the ModelConfig defaults."""
    default = project / "configs" / "default.toml"
    try:
        model_config = tomllib.loads(default.read_text(encoding="utf-8")).get("model")
    except tomllib.TOMLDecodeError as error:
        raise ScaffoldError(f"{default} is not valid TOML: {error}.") from error
    if not isinstance(model_config, dict):
        raise ScaffoldError(f"{default} has no [model] section.")
    shutil.copyfile(project / "src" / package / "model.py", staged / "model.py")
    shutil.copyfile(default, staged / "default.toml")
    if (project / "tests" / "test_model.py").is_file():
        shutil.copyfile(project / "tests" / "test_model.py", staged / "test_model.py")
    return model_config


def _keep_imported_modules(staged: Path, rendered_pkg: Path, source_pkg: Path) -> None:
    """Copy the source project's modules that model.py imports but the template lacks."""
    tree = ast.parse((staged / "model.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    for name in sorted(names):
        source = source_pkg / f"{name}.py"
        if source.is_file() and not (rendered_pkg / f"{name}.py").exists():
            (staged / "modules").mkdir(exist_ok=True)
            shutil.copyfile(source, staged / "modules" / source.name)


def _passed(checks: list[Check], where: str) -> list[Check]:
    failed = [check for check in checks if not check.passed]
    if failed:
        check = failed[0]
        raise ScaffoldError(
            f"The {check.name} check failed in {where} ({check.summary}); the base was not stored.",
            details=f"$ {check.command}\n{check.tail}",
        )
    return checks


def _render_version(version: str | None) -> str | None:
    """`version` when the template repository has it, else None (this scaffold's)."""
    if version is None or not git_available():
        return None
    repo, _ = ensure_template_repo()
    return version if has_tag(repo, version) else None


def _provenance(project: Path, answers: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = {
        "path": str(project),
        "project_name": answers.get("project_name"),
        "package_name": answers.get("package_name"),
        "features": answers.get("features"),
    }
    if git_available() and git(project, "rev-parse", "--is-inside-work-tree", check=False):
        source["git_commit"] = git(project, "rev-parse", "HEAD", check=False) or None
        source["uncommitted_changes"] = bool(git(project, "status", "--porcelain", check=False))
    return source


def _rename_package(text: str, old: str, new: str) -> str:
    """Point `import old...` / `from old... import` lines at the package `new`."""
    if not old or old == new:
        return text
    pattern = re.compile(rf"(?m)^(\s*(?:from|import)\s+){re.escape(old)}(?=[\s.]|$)")
    return pattern.sub(lambda m: m.group(1) + new, text)


def _with_section(toml: str, section: str, donor: str) -> str:
    """`toml` with its [section] lines replaced by those of `donor` (comments kept)."""

    def split(text: str) -> tuple[list[str], list[str], list[str]]:
        lines = text.splitlines(keepends=True)
        heads = [
            (i, m.group(1).strip()) for i, line in enumerate(lines) if (m := _SECTION.match(line))
        ]
        for k, (i, name) in enumerate(heads):
            if name == section:
                end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
                return lines[:i], lines[i:end], lines[end:]
        raise ScaffoldError(f"A default.toml has no [{section}] section.")

    before, _, after = split(toml)
    _, ours, _ = split(donor)
    if ours and not ours[-1].endswith("\n"):
        ours[-1] += "\n"
    return "".join(before + ours + after)


def _move_into_place(staged: Path, dest: Path) -> None:
    """Rename `staged` to `dest`, replacing an existing base only once the new one is whole."""
    old = dest.with_name(f".{dest.name}-old-{secrets.token_hex(4)}")
    if dest.exists():
        dest.rename(old)
    staged.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
