"""Unit tests of scaffold.names. Run: pytest -q tests/test_names.py"""

from __future__ import annotations

import pytest
import reliability

from scaffold.names import (
    base_name_problem,
    default_package_name,
    package_name_problem,
    project_name_problem,
)

# Packages that a project of these names would replace (pip) or shadow (import).
RESERVED = [
    "torch",
    "scaffold",
    "copier",
    "yaml",
    "setuptools",
    "pip",
    "wheel",
    "conftest",
    "numpy",
    "typer",
    "jinja2",
    "sklearn",
    "matplotlib",
    "tqdm",
    "tomli_w",
    "tensorboard",
    "mnist1d",
    "pytest",
    "scipy",
]


@pytest.mark.parametrize("name", ["my-project", "a", "Proj.v2", "x_y-z"])
def test_good_project_names(name: str) -> None:
    assert project_name_problem(name) == ""


@pytest.mark.parametrize(
    "name",
    ["", "1abc", "-x", "my project", "é", "a/b", ".hidden", "x-", "x.", "x_", "ab\n", "a" * 65],
)
def test_bad_project_names(name: str) -> None:
    reliability.bad_input("names")
    assert project_name_problem(name)


@pytest.mark.parametrize(
    "name",
    [*RESERVED, "PyYAML", "pyyaml", "Torch", "scikit-learn", "scikit_learn", "Jinja2", "Pillow"],
)
def test_project_names_of_installed_packages_are_refused(name: str) -> None:
    reliability.bad_input("names")
    assert "installing the project would replace it" in project_name_problem(name)


@pytest.mark.parametrize("name", RESERVED)
def test_package_names_of_installed_packages_are_refused(name: str) -> None:
    reliability.bad_input("names")
    assert "would shadow the installed package" in package_name_problem(name)


def test_long_names_give_one_sentence() -> None:
    reliability.bad_input("names", 3)
    for problem in (project_name_problem("a" * 256), package_name_problem("a" * 256)):
        assert problem == problem.splitlines()[0] and "at most 64 characters, not 256" in problem
    assert "at most 40" in base_name_problem("a" * 41)


@pytest.mark.parametrize("name", ["mine", "my-net", "net_2", "a"])
def test_good_base_names(name: str) -> None:
    assert base_name_problem(name) == ""


@pytest.mark.parametrize("name", ["", "My", "1net", "net-", "net_", "net.", "net\n", "n\u00e9t"])
def test_bad_base_names(name: str) -> None:
    reliability.bad_input("names")
    assert "must start with a lower-case letter, end with a letter or digit" in (
        base_name_problem(name)
    )


@pytest.mark.parametrize(
    ("project", "package"),
    [("my-project", "my_project"), ("My.Project", "my_project"), ("abc", "abc")],
)
def test_default_package_name(project: str, package: str) -> None:
    assert default_package_name(project) == package


def test_good_package_name() -> None:
    assert package_name_problem("my_project") == ""


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("my-project", "identifier"),
        ("1abc", "identifier"),
        ("café", "identifier"),
        ("class", "keyword"),
        ("match", "keyword"),
        ("json", "standard library"),
        ("torch", "installed package"),
        ("MyProject", "lower case"),
    ],
)
def test_bad_package_names(name: str, why: str) -> None:
    reliability.bad_input("names")
    assert why in package_name_problem(name)
