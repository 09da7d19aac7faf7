"""Sessions: `nox` runs lint (ruff, mypy) and tests in the current environment (torch is not
reinstalled)."""

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]


@nox.session
def lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "src")


@nox.session
def tests(session: nox.Session) -> None:
    session.run("pytest", "-q", *session.posargs, env={"OMP_NUM_THREADS": "1"})
