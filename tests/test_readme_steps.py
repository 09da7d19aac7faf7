"""The docs session's reading of the READMEs (tests/readme_steps.py); `nox -s docs` runs them.

Run: pytest -q tests/test_readme_steps.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from readme_steps import StepsError, check_clean, marked_steps, run_steps, session_env

ROOT = Path(__file__).resolve().parents[1]

PROJECT_README = """# demo

<!-- docs: first-run -->
```bash
python -m venv .venv && . .venv/bin/activate
```
<!-- /docs -->

```bash
echo not marked
```

1. **Data.**

   <!-- docs: first-run -->
   ```bash
   python -m demo data            # a comment stays
   ```

   ```python
   print("not bash")
   ```
   <!-- /docs -->
"""


def test_marked_bash_blocks_in_order_and_nothing_else() -> None:
    assert marked_steps(PROJECT_README, "first-run") == [
        "python -m venv .venv && . .venv/bin/activate\n",
        "python -m demo data            # a comment stays\n",
    ]


def test_missing_markers_are_named() -> None:
    with pytest.raises(StepsError, match="no <!-- docs: first-run --> ... <!-- /docs -->"):
        marked_steps("# demo\n```bash\necho hi\n```\n", "first-run", "the README")
    with pytest.raises(StepsError, match="hold no ```bash block"):
        marked_steps("<!-- docs: first-run -->\ntext\n<!-- /docs -->", "first-run")


def test_the_quick_start_makes_the_project_outside_the_checkout() -> None:
    (block,) = marked_steps((ROOT / "README.md").read_text(), "quick-start")
    new = next(line for line in block.splitlines() if line.startswith("scaffold new "))
    target = Path(new.split()[2])
    assert target.is_absolute() or target.parts[0] == "..", new


def test_blocks_share_one_shell_and_a_dirty_tree_is_named(tmp_path: Path) -> None:
    repo, settings = tmp_path / "repo", tmp_path / "settings"
    settings.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    env = session_env(settings)
    assert Path(env["PIP_CONSTRAINT"]).read_text() == "torch==2.13.0\n"
    run_steps(["mkdir sub && cd sub\n", "touch made-here\n"], repo, env, "demo")
    assert (repo / "sub" / "made-here").is_file()  # the cd carried over to the next block
    with pytest.raises(StepsError, match=r"the steps left the git tree .*repo dirty: \?\? sub/"):
        check_clean(repo)
    with pytest.raises(StepsError, match="exited with code 3"):
        run_steps(["exit 3\n"], repo, env, "demo")
