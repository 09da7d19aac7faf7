"""`python -m scaffold ...` runs the command line (see scaffold.cli)."""

from scaffold.cli import app

app(prog_name="scaffold")
