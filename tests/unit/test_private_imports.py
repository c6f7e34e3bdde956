"""Packages use each other's public names only (the layers themselves: `make lint`)."""

from __future__ import annotations

import ast
from pathlib import Path

import autobuild

SRC = Path(autobuild.__file__).parent


def _package(module: str) -> str:
    """The top-level package (``autobuild.<name>``) a module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _private_imports() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
                continue
            target = node.module
            if not target.startswith("autobuild.") or _package(target) == _package(module):
                continue
            # A private module inside another package (autobuild.spaces._space), or a
            # private name of another package; the root's helper modules (autobuild._atomic)
            # are shared by design and their names are public.
            inner = target.split(".")[2:]
            names = [
                a.name
                for a in node.names
                if a.name.startswith("_") and not a.name.endswith("__")  # not __version__
            ]
            if any(p.startswith("_") for p in inner) or names:
                found.append(f"{module}:{node.lineno}: from {target} import {names or '...'}")
    return found


def test_no_package_imports_private_names_of_another():
    assert _private_imports() == []
