"""Architecture: the import contracts of pyproject.toml (``[tool.importlinter]``) hold.

``lint-imports`` (import-linter, in the ``test`` extra) checks that ``workflows`` never imports
``bo_agent`` and that ``bo_agent``'s layers import downwards only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str | None:
    """``lint-imports`` of this interpreter's environment, else the one on ``PATH``."""
    sibling = Path(sys.executable).with_name("lint-imports")
    if sibling.is_file():
        return str(sibling)
    return shutil.which("lint-imports")


def test_import_contracts_are_kept():
    exe = _lint_imports()
    if exe is None:
        pytest.skip("lint-imports not found: install the test extra, pip install -e '.[test]'")
    result = subprocess.run(
        [exe, "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert " kept, 0 broken." in report, report
