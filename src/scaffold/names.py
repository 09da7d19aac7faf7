"""Checks for the names a user gives a project; shared by the CLI and the template."""

from __future__ import annotations

import keyword
import re
import sys

_PROJECT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
# Packages a generated project imports: a package of the same name would shadow them.
_DEPENDENCIES = {
    "torch",
    "numpy",
    "sklearn",
    "matplotlib",
    "tqdm",
    "tomli_w",
    "tensorboard",
    "mnist1d",
    "pytest",
    "scipy",
    "PIL",
}


def project_name_problem(name: str) -> str:
    """Return why `name` is not a usable project name, or "" when it is."""
    if not name:
        return "The project name must not be empty."
    if not _PROJECT_RE.match(name):
        return (
            f"The project name {name!r} must start with a letter and contain only "
            "letters, digits, '.', '_' and '-'."
        )
    return ""


def default_package_name(project_name: str) -> str:
    """Derive an importable package name from a project name (my-project -> my_project)."""
    return re.sub(r"[^0-9a-zA-Z_]", "_", project_name).lower()


def package_name_problem(name: str) -> str:
    """Return why `name` is not a usable package name, or "" when it is."""
    if not name.isidentifier() or not name.isascii():
        return f"The package name {name!r} is not a valid Python identifier."
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"The package name {name!r} is a Python keyword."
    if name in sys.stdlib_module_names:
        return f"The package name {name!r} would shadow the standard library module {name!r}."
    if name in _DEPENDENCIES:
        return f"The package name {name!r} would shadow the installed package {name!r}."
    if name != name.lower():
        return f"The package name {name!r} should be lower case (PEP 8)."
    return ""
