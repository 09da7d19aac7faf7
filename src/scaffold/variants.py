"""The variant matrix: answer sets that nox renders and tests (`scaffold variants` prints it).

Rule: every baseline is rendered minimal (no optional features) and full (all of them),
so every `{% if %}` in the template is rendered both ways by some variant; and every
feature is rendered alone on the first baseline, so that no feature leans on another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from scaffold.template import template_root


@dataclass(frozen=True)
class Variant:
    """One answer set to the copier questions."""

    name: str
    baseline: str
    features: tuple[str, ...] = field(default_factory=tuple)

    def data(self) -> dict[str, Any]:
        """The answers to pass to copier (`--data` pairs)."""
        return {"baseline": self.baseline, "features": list(self.features)}


@cache
def questions(root: Path | None = None) -> dict[str, Any]:
    """The questions of copier.yml (settings that start with `_` left out)."""
    path = (root or template_root()) / "copier.yml"
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {k: v for k, v in loaded.items() if not k.startswith("_")}


def choices(question: str) -> list[str]:
    """The allowed values of a choice question of copier.yml."""
    spec = questions()[question]["choices"]
    return [str(c) for c in (spec.values() if isinstance(spec, dict) else spec)]


def baselines() -> list[str]:
    """The built-in baselines: the `baseline` choices (each a folder of template/_baselines)."""
    return choices("baseline")


def baseline_facts(name: str, root: Path | None = None) -> dict[str, Any]:
    """The facts of baseline `name`: template/_baselines/<name>/baseline.yml."""
    path = (root or template_root()) / "template" / "_baselines" / name / "baseline.yml"
    facts = yaml.safe_load(path.read_text(encoding="utf-8"))
    return facts if isinstance(facts, dict) else {}


def variants() -> list[Variant]:
    """Every baseline minimal and full, then each feature alone on the first baseline."""
    features = tuple(choices("features"))
    baselines = choices("baseline")
    out = []
    for baseline in baselines:
        out.append(Variant(f"{baseline}-minimal", baseline, ()))
        out.append(Variant(f"{baseline}-full", baseline, features))
    out += [Variant(f"{baselines[0]}-{f}", baselines[0], (f,)) for f in features]
    return out
