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


PACKAGES = ("workflows", "bo_agent")
MAX_MODULE_LINES = 430  # "about 400": a module past this is two concepts
MAX_FOLDER_MODULES = 15


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_no_module_imports_another_in_a_cycle_annotations_included():
    """Layers are checked above at run time; a cycle through type hints is still a tangle."""
    import grimp
    import networkx as nx

    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    edges = nx.DiGraph(
        (m, i) for m in graph.modules for i in graph.find_modules_directly_imported_by(m)
    )
    cycles = [sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1]
    assert cycles == []


def test_modules_and_folders_stay_small():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
    crowded = {
        str(d.relative_to(ROOT)): n
        for d in {p.parent for p in _modules()}
        if (n := len([f for f in d.glob("*.py") if f.name != "__init__.py"])) > MAX_FOLDER_MODULES
    }
    assert crowded == {}


def test_no_module_only_re_exports():
    """Every name in ``__all__`` is defined where it is listed; package inits import nothing."""
    import ast

    offenders = []
    for p in _modules():
        tree = ast.parse(p.read_text())
        defined: set[str] = set()
        listed: list[str] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            defined.add(n.id)
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    listed = [e.value for e in node.value.elts]  # type: ignore[union-attr]
        if missing := [n for n in listed if n not in defined]:
            offenders.append(f"{p.relative_to(ROOT)}: {missing}")
        project_imports = [
            n
            for n in tree.body
            if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] in PACKAGES
        ]
        if p.name == "__init__.py" and project_imports and not defined - {"__all__"}:
            offenders.append(f"{p.relative_to(ROOT)} only imports (a facade)")
    assert offenders == []
