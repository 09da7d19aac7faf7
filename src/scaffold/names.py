"""Checks for the names a user gives a project or a base; shared by the CLI and the template.

Why so strict: a generated project is installed with `pip install -e .` into the user's
environment. A distribution named like an installed one (`torch`, `copier`) replaces it,
and a package named like one (`yaml`, `conftest`) shadows it on `sys.path`. Names follow
the rules pip and Python apply (PEP 508 names compared canonically, identifiers), each
matched against the whole string, so a mistake is refused here in one sentence instead
of failing later inside pip.
"""

from __future__ import annotations

import keyword
import re
import sys

from packaging.utils import canonicalize_name

# Longest project, package or base name: far below file systems' 255 bytes, so a folder,
# `src/<package>/...` and scaffold's own hidden folders beside it always fit.
MAX_LENGTH = 64
# PEP 508 names (what pip accepts), and a letter first, as the template expects.
_PROJECT_RE = re.compile(r"[A-Za-z](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_BASE_RE = re.compile(r"[a-z](?:[a-z0-9_-]*[a-z0-9])?")
# Modules that a generated project, or scaffold that made it, imports: a package of the
# same name would shadow them.
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
_RESERVED_MODULES = _DEPENDENCIES | {
    "scaffold",
    "copier",
    "yaml",
    "setuptools",
    "pkg_resources",
    "pip",
    "wheel",
    "conftest",
    "typer",
    "jinja2",
    "packaging",
    "filelock",
    "rich",
    "click",
    "hatchling",
    "nox",
}
# Distributions whose name differs from their module's.
_RESERVED_DISTRIBUTIONS = {canonicalize_name(m) for m in _RESERVED_MODULES} | {
    "pyyaml",
    "scikit-learn",
    "pillow",
    "pre-commit",
}


def project_name_problem(name: str) -> str:
    """Return why `name` is not a usable project (distribution) name, or "" when it is."""
    if not name:
        return "The project name must not be empty."
    if len(name) > MAX_LENGTH:
        return f"The project name must be at most {MAX_LENGTH} characters, not {len(name)}."
    if not _PROJECT_RE.fullmatch(name):
        return (
            f"The project name {name!r} must start with a letter, end with a letter or "
            "digit, and contain only letters, digits, '.', '_' and '-'."
        )
    if canonicalize_name(name) in _RESERVED_DISTRIBUTIONS:
        return (
            f"The project name {name!r} is the name of the package "
            f"{canonicalize_name(name)!r}; installing the project would replace it."
        )
    return ""


def default_package_name(project_name: str) -> str:
    """Derive an importable package name from a project name (my-project -> my_project)."""
    return re.sub(r"[^0-9a-zA-Z_]", "_", project_name).lower()


def package_name_problem(name: str) -> str:
    """Return why `name` is not a usable package name, or "" when it is."""
    if len(name) > MAX_LENGTH:
        return f"The package name must be at most {MAX_LENGTH} characters, not {len(name)}."
    if not name.isidentifier() or not name.isascii():
        return f"The package name {name!r} is not a valid Python identifier."
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"The package name {name!r} is a Python keyword."
    if name in sys.stdlib_module_names:
        return f"The package name {name!r} would shadow the standard library module {name!r}."
    if name in _RESERVED_MODULES or name.lower() in _RESERVED_MODULES:
        return f"The package name {name!r} would shadow the installed package {name!r}."
    if name != name.lower():
        return f"The package name {name!r} should be lower case (PEP 8)."
    return ""


def base_name_problem(name: str) -> str:
    """Return why `name` is not a usable name for one of the user's bases, or "" when it is."""
    if not _BASE_RE.fullmatch(name) or len(name) > 40:
        return (
            f"The base name {name!r} must start with a lower-case letter, end with a letter "
            "or digit, and hold only a-z, 0-9, '-' and '_' (at most 40 characters)."
        )
    return ""
