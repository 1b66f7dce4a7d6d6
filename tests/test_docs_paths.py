"""Docs name only code that exists: file paths and dotted module paths in README.md and docs/."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FILE_PATH = re.compile(r"(?<![\w/.-])((?:workflows|bo_agent|benchmarks|tests)/[\w/.-]*\w)")
MODULE_PATH = re.compile(r"(?<![\w./-])((?:workflows|bo_agent)(?:\.[a-z_]\w*)+)")


def _module_exists(dotted: str) -> bool:
    """A module, or an attribute path whose longest module prefix exists."""
    parts = dotted.split(".")
    for i in range(1, len(parts) + 1):
        try:
            found = importlib.util.find_spec(".".join(parts[:i])) is not None
        except ModuleNotFoundError:  # a module's attribute, not a submodule
            found = False
        if not found:
            return i > 1 and _has_attr(".".join(parts[: i - 1]), parts[i - 1 :])
    return True


def _has_attr(module: str, attrs: list[str]) -> bool:
    obj = importlib.import_module(module)
    for a in attrs:
        if not hasattr(obj, a):
            return False
        obj = getattr(obj, a)
    return True


def test_docs_name_only_files_and_modules_that_exist():
    missing = []
    for page in PAGES:
        text = page.read_text()
        for m in FILE_PATH.finditer(text):
            path, after, before = m.group(1), text[m.end() : m.end() + 2], text[: m.start()]
            if (
                set(after) & set("*<{[")
                or "<" in path
                or before.endswith(("--out ", "--export ", 'out="'))
            ):
                continue  # a pattern, a placeholder or an output the command writes
            if not (ROOT / path.rstrip(".")).exists():
                missing.append(f"{page.name}: {path}")
        missing += [
            f"{page.name}: {dotted}"
            for dotted in set(MODULE_PATH.findall(text))
            if not _module_exists(dotted.rstrip("."))
        ]
    assert sorted(set(missing)) == []
