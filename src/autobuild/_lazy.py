"""Packages whose public names are imported on first use (PEP 562).

``import autobuild`` and the command line's help must not pay for torch. A package lists
its public names with the module that defines each; :func:`attach` returns the
``__getattr__`` and ``__dir__`` that import a name when it is first read. ``__all__`` stays a
literal list in the package, where linters and type checkers read it.
Written by hand because it is a few lines of standard library (``lazy_loader`` does the same
with a dependency and stub files).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Lazy attribute access for ``package``.

    Args:
        package: The package's ``__name__``.
        names: Public name -> submodule (relative to ``package``, or absolute when it starts
            with ``autobuild.``) that defines it; a name that maps to itself is the
            submodule.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.
    """
    namespace = importlib.import_module(package).__dict__

    def getattr_(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        where = names[name]
        module = importlib.import_module(
            where if where.startswith("autobuild.") else f"{package}.{where}"
        )
        value = module if names[name] == name else getattr(module, name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *names})

    return getattr_, dir_
