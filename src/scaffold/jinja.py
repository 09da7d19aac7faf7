"""Jinja filters that copier.yml uses to validate answers (loaded by copier as an extension)."""

from __future__ import annotations

from jinja2 import Environment
from jinja2.ext import Extension

from scaffold.names import default_package_name, package_name_problem, project_name_problem


class NameChecks(Extension):
    """Adds `project_name_problem`, `package_name_problem` and `default_package_name`."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["project_name_problem"] = project_name_problem
        environment.filters["package_name_problem"] = package_name_problem
        environment.filters["default_package_name"] = default_package_name
