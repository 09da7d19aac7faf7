"""`python -m <package> --help` lists the commands."""

from .cli import main

raise SystemExit(main())
