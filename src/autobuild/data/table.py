"""Tables of evaluated architectures: reading CSV, JSON, JSON Lines and Parquet files.

A table has one row per evaluated architecture: an architecture column (``arch`` by default,
holding the JSON form, a canonical id or a benchmark's native id) and numeric metric columns.
JSON files may also map architecture ids to objects of metrics, the NAS-Bench-Macro layout::

    {"02012100": {"mean_acc": 89.2, "params": 890666, ...}, ...}

Columns that hold text or lists are not metrics and are skipped. Rows are numbered from 1,
header excluded.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from autobuild.data.target import TargetExpression
from autobuild.exceptions import DataError, SearchSpaceError
from autobuild.spaces import Architecture, SearchSpace

__all__ = [
    "SUPPORTED_FORMATS",
    "LabeledData",
    "load_table",
    "read_architectures",
]

logger = logging.getLogger(__name__)

#: File extensions :func:`load_table` reads.
SUPPORTED_FORMATS = (".csv", ".json", ".jsonl", ".parquet")

_SHOW_IDS = 5  # architecture ids quoted in error messages

# A row of a file before validation: (where, e.g. "row 3" or "key '0201'", column -> value).
_Record = tuple[str, dict[str, Any]]


@dataclass(frozen=True, eq=False)
class LabeledData:
    """Evaluated architectures of one space with their metrics.

    Args:
        space: The search space the architectures belong to.
        archs: The distinct architectures, in file order.
        metrics: Metric name to a ``float64`` array aligned with ``archs``; missing or
            non-finite values are ``nan``.
        source: The file path or a description.
        n_rows: Rows read from the file.
        n_duplicates: Rows dropped because their architecture was already present.

    Raises:
        DataError: If a metric column does not have one value per architecture.
    """

    space: SearchSpace
    archs: tuple[Architecture, ...]
    metrics: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    source: str = ""
    n_rows: int = 0
    n_duplicates: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "archs", tuple(self.archs))
        metrics = {name: np.asarray(v, dtype=np.float64) for name, v in self.metrics.items()}
        for name, values in metrics.items():
            if values.shape != (len(self.archs),):
                raise DataError(
                    f"Metric {name!r} has shape {values.shape}; expected one value per "
                    f"architecture ({len(self.archs)},)."
                )
        object.__setattr__(self, "metrics", metrics)

    def __len__(self) -> int:
        return len(self.archs)

    def __repr__(self) -> str:
        return (
            f"LabeledData(space={self.space.name!r}, n={len(self)}, "
            f"metrics={self.metric_names}, source={self.source!r})"
        )

    @property
    def ids(self) -> list[str]:
        """The id of each architecture (:meth:`SearchSpace.arch_id`)."""
        return [self.space.arch_id(a) for a in self.archs]

    @property
    def metric_names(self) -> list[str]:
        """Names of the metric columns, in file order."""
        return list(self.metrics)

    def subset(self, indices: Sequence[int] | npt.NDArray[Any]) -> LabeledData:
        """The rows at ``indices`` (integer positions or a boolean mask), in that order."""
        idx = np.asarray(indices)
        idx = np.arange(len(self))[idx if idx.size else idx.astype(np.intp)]
        return replace(
            self,
            archs=tuple(self.archs[i] for i in idx),
            metrics={name: v[idx] for name, v in self.metrics.items()},
        )

    def sample(self, n: int, seed: int | None = None) -> LabeledData:
        """``n`` distinct rows drawn uniformly at random, in the order drawn.

        Raises:
            DataError: If ``n`` is negative or larger than the number of rows.
        """
        if not 0 <= n <= len(self):
            raise DataError(
                f"Cannot sample {n} architectures from {self.source or 'the data'}: it has "
                f"{len(self)}. Ask for at most {len(self)}."
            )
        return self.subset(np.random.default_rng(seed).choice(len(self), n, replace=False))

    def target(
        self, expr: str | TargetExpression, *, strict: bool = False
    ) -> tuple[LabeledData, npt.NDArray[np.float64]]:
        """Evaluate a target expression and drop the rows where it is not finite.

        Args:
            expr: The expression over metric names, e.g. ``"mean_acc"`` or ``"acc/latency"``.
            strict: Refuse rows whose target is ``nan`` or infinite instead of skipping them.

        Returns:
            The kept rows and their targets (``float64``), aligned.

        Raises:
            ExpressionError: If the expression is invalid or names an unknown metric.
            DataError: If some targets are not finite and ``strict`` is set, or none is finite.
        """
        expression = expr if isinstance(expr, TargetExpression) else TargetExpression(expr)
        expression.check_names(self.metrics)
        y = expression.evaluate(self.metrics)
        ok = np.isfinite(y)
        bad = np.flatnonzero(~ok)
        if bad.size == 0:
            return self, y
        shown = ", ".join(self.space.arch_id(self.archs[i]) for i in bad[:_SHOW_IDS])
        more = ", ..." if bad.size > _SHOW_IDS else ""
        message = (
            f"{bad.size} of {len(self)} architectures have a NaN or infinite target "
            f"'{expression.text}' ({shown}{more})"
        )
        if strict:
            raise DataError(f"{message}; drop them or run without --strict.")
        if bad.size == len(self):
            raise DataError(f"{message}: no architecture is left; check the metrics it uses.")
        logger.warning(
            "Skipped %d of %d architectures whose target '%s' is NaN or infinite",
            bad.size,
            len(self),
            expression.text,
        )
        return self.subset(ok), y[ok]


def load_table(
    path: str | Path, space: SearchSpace, *, strict: bool = False, arch_column: str = "arch"
) -> LabeledData:
    """Read a table of evaluated architectures of ``space``.

    Each architecture is kept once, at its first row; later rows of the same architecture
    (e.g. NAS-Bench-Macro keys that name the same network) are counted in
    :attr:`LabeledData.n_duplicates`.

    Args:
        path: A ``.csv``, ``.json``, ``.jsonl`` or ``.parquet`` file.
        space: The search space of the architectures.
        strict: Refuse ``nan`` or infinite metric values instead of storing them as ``nan``.
        arch_column: The column that holds the architectures.

    Raises:
        DataError: If the file cannot be read, has no rows, no architecture column or no
            numeric metric, a row's architecture is not in ``space``, or (``strict``) a metric
            is not finite. The message names the file and the row.
    """
    p = Path(path)
    records, columns = _read_records(p, arch_column)
    archs = [_parse_arch(space, p, where, rec.get(arch_column)) for where, rec in records]
    metrics = _metric_columns(p, records, [c for c in columns if c != arch_column], strict)

    first: dict[Architecture, int] = {}
    keep: list[int] = []
    conflicts = 0
    table = np.column_stack(list(metrics.values()))
    for i, arch in enumerate(archs):
        j = first.setdefault(arch, i)
        if j == i:
            keep.append(i)
        elif not np.array_equal(table[i], table[j], equal_nan=True):
            conflicts += 1
    n_dup = len(archs) - len(keep)
    if n_dup:
        logger.info(
            "%s: %d of %d rows repeat an earlier architecture; kept the first of each",
            p,
            n_dup,
            len(archs),
        )
    if conflicts:
        logger.warning(
            "%s: %d duplicate rows have metrics that differ from the first row of their "
            "architecture; kept the first row's metrics",
            p,
            conflicts,
        )
    return LabeledData(
        space=space,
        archs=tuple(archs[i] for i in keep),
        metrics={name: v[keep] for name, v in metrics.items()},
        source=str(p),
        n_rows=len(records),
        n_duplicates=n_dup,
    )


def read_architectures(
    path: str | Path, space: SearchSpace, *, arch_column: str = "arch"
) -> list[Architecture]:
    """Read the architectures of a data file, one per row, in file order.

    Unlike :func:`load_table`, duplicates are kept and metric columns are optional (e.g. a
    file written by ``autobuild sample``).

    Raises:
        DataError: If the file cannot be read, has no rows or no architecture column, or a
            row's architecture is not in ``space``.
    """
    p = Path(path)
    records, _ = _read_records(p, arch_column)
    return [_parse_arch(space, p, where, rec.get(arch_column)) for where, rec in records]


def _read_records(p: Path, arch_column: str) -> tuple[list[_Record], list[str]]:
    """Read the rows of a data file and check it has an architecture column."""
    readers = {".csv": _read_csv, ".json": _read_json, ".jsonl": _read_jsonl}
    suffix = p.suffix.lower()
    if suffix not in (*readers, ".parquet"):
        raise DataError(
            f"Cannot read {str(p)!r}: unknown extension {p.suffix!r}; supported formats are "
            f"{', '.join(SUPPORTED_FORMATS)}."
        )
    if not p.exists():
        raise DataError(f"Data file {str(p)!r} does not exist; check the path.")
    if suffix == ".parquet":
        records = _read_parquet(p)
    else:
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"Cannot read data file {str(p)!r}: {err}.") from err
        if not text.strip():
            raise DataError(f"Data file {str(p)!r} is empty; it needs a header and rows.")
        records = readers[suffix](text, p, arch_column)
    if not records:
        raise DataError(f"Data file {str(p)!r} has no rows.")
    columns = list(dict.fromkeys(k for _, rec in records for k in rec))
    if arch_column not in columns:
        raise DataError(
            f"Data file {str(p)!r} has no {arch_column!r} column; columns found: {columns}. "
            "Rename the architecture column or pass its name."
        )

    return records, columns


def _parse_arch(space: SearchSpace, path: Path, where: str, value: Any) -> Architecture:
    if value is None or value == "":
        raise DataError(f"{path} {where}: the architecture cell is empty.")
    try:
        return space.parse(value)
    except SearchSpaceError as err:
        raise DataError(f"{path} {where}: {err} Is {space.name!r} the right space?") from err


def _metric_columns(
    path: Path, records: list[_Record], names: list[str], strict: bool
) -> dict[str, npt.NDArray[np.float64]]:
    """Convert the numeric columns to ``float64``; skip the others."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    for name in names:
        values = [_to_float(rec.get(name)) for _, rec in records]
        if any(v is None for v in values):
            logger.debug("%s: column %r holds non-numeric values; not a metric", path, name)
            continue
        column = np.array(values, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(column))
        if bad.size:
            where, rec = records[bad[0]]
            value = rec.get(name)
            if strict:
                raise DataError(
                    f"{path} {where}: metric {name!r} is "
                    f"{'empty' if value in (None, '') else repr(value)}, not a finite number "
                    f"({bad.size} such values in the column); fix the data or run without "
                    "--strict."
                )
            logger.info(
                "%s: %d values of metric %r are missing or not finite", path, bad.size, name
            )
            column[bad] = np.nan
        out[name] = column
    if not out:
        raise DataError(
            f"Data file {str(path)!r} has no numeric metric column; columns other than the "
            f"architecture: {names}."
        )
    return out


def _to_float(value: Any) -> float | None:
    """A metric value as a float (``nan`` when missing), or ``None`` if it is not numeric."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else math.nan
        except ValueError:
            return None
    return None


def _read_csv(text: str, path: Path, arch_column: str) -> list[_Record]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header, *body = [row for row in reader if row]
    except csv.Error as err:
        raise DataError(f"{path} line {reader.line_num}: invalid CSV: {err}.") from err
    if len(set(header)) != len(header):
        raise DataError(f"{path}: the header names a column twice: {header}.")
    records = []
    for i, row in enumerate(body, start=1):
        if len(row) != len(header):
            raise DataError(
                f"{path} row {i}: {len(row)} fields but the header has {len(header)}; quote "
                "cells that contain commas (e.g. the JSON architecture)."
            )
        records.append((f"row {i}", dict(zip(header, row, strict=True))))
    return records


def _read_json(text: str, path: Path, arch_column: str) -> list[_Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(
            f"{path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
        ) from err
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if isinstance(data, list):
        return _check_objects(path, [(f"row {i}", rec) for i, rec in enumerate(data, start=1)])
    if isinstance(data, dict):
        checked = _check_objects(path, [(f"key {k!r}", v) for k, v in data.items()])
        return [
            (where, {**rec, arch_column: k}) for (where, rec), k in zip(checked, data, strict=True)
        ]
    raise DataError(
        f'{path}: expected a list of row objects, {{"records": [...]}} or an object mapping '
        f"architecture ids to metrics; got a JSON {type(data).__name__}."
    )


def _read_jsonl(text: str, path: Path, arch_column: str) -> list[_Record]:
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                records.append((f"line {lineno}", json.loads(line)))
            except json.JSONDecodeError as err:
                raise DataError(
                    f"{path} line {lineno} is not valid JSON: {err.msg} at column {err.colno}."
                ) from err
    return _check_objects(path, records)


def _read_parquet(path: Path) -> list[_Record]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise DataError("Reading Parquet needs pyarrow: pip install 'autobuild[parquet]'") from err
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowException) as err:
        raise DataError(f"Cannot read Parquet file {str(path)!r}: {err}.") from err
    return [(f"row {i}", rec) for i, rec in enumerate(rows, start=1)]


def _check_objects(path: Path, records: list[tuple[str, Any]]) -> list[_Record]:
    for where, rec in records:
        if not isinstance(rec, dict):
            raise DataError(
                f"{path} {where}: expected an object of column values, got {rec!r:.80}."
            )
    return records
