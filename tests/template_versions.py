"""Test template versions: a snapshot of scaffold's template (A) and a changed copy (B);
and what a user does to a project's model before keeping it as a base.

B changes what an update must carry over, without touching the real template:
- README.md gets a last line (a user's own last line conflicts with it; an edit of the
  first line merges);
- CHANGES.md is a new file;
- the question `author` is renamed `maintainer`, with a copier migration
  (`python -m scaffold.migrations rename-question`) that moves the project's answer.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

B_LINE = "This line came with template version B."
B_NEW_FILE = "CHANGES.md"


def snapshot(source_root: Path, dest: Path) -> Path:
    """Copy copier.yml and template/ of `source_root` into `dest`; return `dest`."""
    dest.mkdir(parents=True)
    shutil.copy2(source_root / "copier.yml", dest / "copier.yml")
    shutil.copytree(
        source_root / "template",
        dest / "template",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return dest


def make_version_b(root: Path, version: str) -> None:
    """Turn the template at `root` into version B, released as `version` (e.g. "2.0.0")."""
    template = root / "template"
    readme = template / "README.md.jinja"
    readme.write_text(readme.read_text().rstrip("\n") + f"\n\n{B_LINE}\n")
    (template / B_NEW_FILE).write_text("# Changes\n\nTemplate version B adds this file.\n")

    copier_yml = root / "copier.yml"
    text = copier_yml.read_text()
    assert "\nauthor:\n" in text, "copier.yml has no question `author` to rename"
    migration = (
        "\n_migrations:\n"
        f"  - version: v{version}\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
        '    command: ["{{ _copier_python }}", "-m", "scaffold.migrations", '
        '"rename-question", "author", "maintainer"]\n'
    )
    copier_yml.write_text(text.replace("\nauthor:\n", "\nmaintainer:\n") + migration)
    renamed = 0
    for path in template.rglob("*.jinja"):
        body = path.read_text()
        if "{{ author" in body:
            path.write_text(body.replace("{{ author", "{{ maintainer"))
            renamed += 1
    assert renamed, "no template file uses {{ author }}"


def work_on_model(project: Path, package: str) -> None:
    """What a user might do: change a model default (in model.py and default.toml alike),
    move a helper into a module of their own, and commit."""
    model = project / "src" / package / "model.py"
    text = model.read_text()
    changed = re.sub(r'(bn_order: Literal\[.*\] = )"relu_bn"', r'\1"bn_relu"', text)
    assert changed != text, "the cnn model has no bn_order default to change"
    model.write_text(changed + "\nfrom .blocks import EXTRA  # noqa: E402,F401\n")
    (project / "src" / package / "blocks.py").write_text("EXTRA = 1  # a module of my own\n")
    default = project / "configs" / "default.toml"
    toml = default.read_text()
    default.write_text(re.sub(r'(?m)^bn_order = "relu_bn"', 'bn_order = "bn_relu"', toml))
    assert default.read_text() != toml
    for args in (["add", "--all"], ["commit", "--quiet", "-m", "my model"]):
        subprocess.run(["git", *args], cwd=project, check=True)
