"""Reading the files of an output folder: CSV and JSON, with clear errors."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from autobuild.exceptions import DataError
from autobuild.reports.html.page import _is_number


def _number(text: str) -> Any:
    """A CSV cell as a number when it is one, else the text (empty: ``None``)."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return [{k: _number(v or "") for k, v in row.items()} for row in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"Cannot read {path}: {err}; rerun the command that wrote it.") from err


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"Cannot read {path}: {err}; rerun the command that wrote it.") from err


def _without_arch(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without their long ``arch`` JSON column when an ``arch_id`` column names them."""
    if rows and "arch_id" in rows[0] and "arch" in rows[0]:
        return [{k: v for k, v in r.items() if k != "arch"} for r in rows]
    return rows


def _floats(values: Iterable[Any]) -> list[float]:
    return [float(v) if _is_number(v) else math.nan for v in values]


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan
