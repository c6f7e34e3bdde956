"""Imports of optional dependencies, failing with the extra that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from autobuild.exceptions import ConfigError

__all__ = ["import_pyg"]


def import_pyg(module: str, why: str) -> ModuleType:
    """Import ``torch_geometric.<module>``, or say which extra installs PyG.

    Args:
        module: The submodule, e.g. ``"nn"`` or ``"data"``.
        why: What needs it, for the message (e.g. ``"General graphs (edge_index)"``).

    Raises:
        ConfigError: PyG is not installed.
    """
    try:
        return importlib.import_module(f"torch_geometric.{module}")
    except ImportError as err:
        raise ConfigError(
            f"{why} need PyTorch Geometric, which is not installed: "
            "pip install 'autobuild[pyg]' (or 'autobuild[ir]' for IR graphs)."
        ) from err
