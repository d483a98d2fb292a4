"""The layers are enforced: import-linter keeps them, and an upward import breaks the build."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_tree_keeps_every_contract():
    answer = lint(ROOT)
    assert answer.returncode == 0, answer.stdout[-3000:]


def test_an_upward_import_from_the_core_breaks_the_layers(tmp_path):
    shutil.copytree(ROOT / "dsar", tmp_path / "dsar", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    core = tmp_path / "dsar" / "workflow" / "services.py"
    core.write_text(core.read_text() + "\nfrom dsar.staff import views  # noqa\n")
    answer = lint(tmp_path)
    assert answer.returncode == 1
    assert "dsar.workflow.services -> dsar.staff.views" in answer.stdout
