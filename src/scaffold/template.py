"""Where the template that ships with this package lives, and what it says of its baselines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from scaffold.errors import ScaffoldError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PACKAGED = Path(__file__).parent / "_template"
_SOURCE_TREE = Path(__file__).resolve().parents[2]


def template_root() -> Path:
    """The folder that holds copier.yml and template/ (packaged copy first, then source tree)."""
    for root in (_PACKAGED, _SOURCE_TREE):
        if (root / "copier.yml").is_file() and (root / "template").is_dir():
            return root
    raise FileNotFoundError("scaffold's template is missing from this installation.")


def baseline_model_config(baseline: str) -> dict[str, Any]:
    """A built-in baseline's default model config: the `[model]` section the template uses."""
    path = template_root() / "template" / "_baselines" / baseline / "model.toml"
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("model")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ScaffoldError(
            f"Cannot read the {baseline} baseline's model config: {error}"
        ) from None
    if not isinstance(section, dict):
        raise ScaffoldError(f"{path} has no [model] section; reinstall scaffold.")
    return section
