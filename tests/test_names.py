"""Unit tests of scaffold.names. Run: pytest -q tests/test_names.py"""

from __future__ import annotations

import pytest

from scaffold.names import default_package_name, package_name_problem, project_name_problem


@pytest.mark.parametrize("name", ["my-project", "a", "Proj.v2", "x_y-z"])
def test_good_project_names(name: str) -> None:
    assert project_name_problem(name) == ""


@pytest.mark.parametrize("name", ["", "1abc", "-x", "my project", "é", "a/b", ".hidden"])
def test_bad_project_names(name: str) -> None:
    assert project_name_problem(name)


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
    assert why in package_name_problem(name)
