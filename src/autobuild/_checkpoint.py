"""Reading the versioned JSON index files of checkpoints (predictors, ensembles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autobuild.exceptions import CheckpointError

__all__ = ["read_index"]


def read_index(path: Path, expected_format: str, what: str) -> dict[str, Any]:
    """Read the JSON index of a checkpoint folder and check its format version.

    Args:
        path: The index file (e.g. ``folder/predictor.json``).
        expected_format: The ``"format"`` value this version of autobuild reads.
        what: What the folder should be, for the error message (e.g. ``"an ensemble
            folder"``).

    Returns:
        The parsed index.

    Raises:
        CheckpointError: A missing or unreadable file, invalid JSON, or another format.
    """
    if not path.is_file():
        raise CheckpointError(f"{str(path.parent)!r} is not {what}: {path.name} is missing.")
    try:
        index = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"Cannot read {str(path)!r}: {err}.") from err
    found = index.get("format") if isinstance(index, dict) else None
    if found != expected_format:
        raise CheckpointError(
            f"{str(path)!r} has format {found!r}; this autobuild reads {expected_format!r}."
        )
    return index
