"""Where the template that ships with this package lives."""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).parent / "_template"
_SOURCE_TREE = Path(__file__).resolve().parents[2]


def template_root() -> Path:
    """The folder that holds copier.yml and template/ (packaged copy first, then source tree)."""
    for root in (_PACKAGED, _SOURCE_TREE):
        if (root / "copier.yml").is_file() and (root / "template").is_dir():
            return root
    raise FileNotFoundError("scaffold's template is missing from this installation.")
