"""Checks on the repository itself: lint, pins without download addresses, no lock files."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_lint_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_versions_are_pinned_by_name_only():
    pins = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert all("==" in line and "://" not in line for line in pins), "pin every package as name==version"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if f.endswith(("uv.lock", "poetry.lock", "Pipfile.lock"))]


def test_every_package_is_installed_by_the_makefile():
    makefile = (ROOT / "Makefile").read_text()
    for pyproject in ROOT.glob("*/**/pyproject.toml"):
        if ".venv" not in pyproject.parts:
            assert str(pyproject.parent.relative_to(ROOT)) in makefile, pyproject
