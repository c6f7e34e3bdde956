"""A study through files: trials out as CSV, results in from CSV, a summary of where it stands.

The ask/tell loop of a :class:`~autobuild.study.Study` when the evaluations run as shell
jobs (a cluster job array, a script on another machine) that read and write plain files:

* :func:`write_trials_csv` -- trials as a CSV file, written atomically: the pending file
  (``trial_id``, ``arch_id``, ``arch``) that jobs read, or the best trials with their metrics;
* :func:`tell_results` -- tell every row of a results CSV, one committed tell per row, so
  a crash loses nothing and re-reading the same file tells only what was not told yet;
  :class:`TellReport` says what was told, skipped and refused (one :class:`RowError` each);
* :func:`read_candidates` -- the architectures of a candidate pool file;
* :func:`study_summary` -- counts, best values and what the sampler learnt, as a dict.

Results CSV: a ``trial_id`` column, one column per objective, any other metric columns
(kept as metrics too), and optionally ``status`` (``ok``, ``complete`` or empty for a
result; ``failed`` for an evaluation that failed) and ``error`` (why it failed). The
columns of the pending file (``arch_id``, ``arch``) may stay in it: ``arch_id`` is checked
against the trial, ``arch`` is ignored, as are ``number``, ``state``, ``round`` and
``attempts``.

Example:
    >>> import autobuild as ab, pathlib, tempfile
    >>> space = ab.spaces.get("nasbench-macro")
    >>> study = ab.create_study(space, "layers:max", sampler=ab.study.RandomSampler())
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_trials_csv(pathlib.Path(tmp, "pending.csv"), study.ask(2), space)
    ...     rows = [f"{t.id},{t.arch.num_layers}" for t in study.trials]
    ...     results = pathlib.Path(tmp, "results.csv")
    ...     _ = results.write_text("trial_id,layers\\n" + "\\n".join(rows) + "\\n")
    ...     first, again = tell_results(study, results), tell_results(study, results)
    >>> len(first.told), first.errors, again.told, len(again.skipped)
    (2, (), (), 2)
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autobuild._atomic import write_csv_atomic
from autobuild.exceptions import ConfigError, DataError
from autobuild.spaces import Architecture, SearchSpace
from autobuild.storage import TrialRecord
from autobuild.study.study import Study
from autobuild.study.trial import Trial

__all__ = [
    "DEFAULT_STORAGE",
    "PENDING_COLUMNS",
    "RowError",
    "TellReport",
    "read_candidates",
    "result_columns",
    "study_summary",
    "tell_results",
    "write_trials_csv",
]

#: The storage of the ``autobuild study`` commands unless ``--storage`` names another.
DEFAULT_STORAGE = "sqlite:///autobuild.db"

#: The columns of a pending file: what a job needs to evaluate a trial and tell it back.
PENDING_COLUMNS: tuple[str, ...] = ("trial_id", "arch_id", "arch")

#: The columns of :meth:`Trial.row` that are not metrics.
_ROW_FIELDS = ("trial_id", "number", "arch_id", "arch", "state", "error", "round", "attempts")

#: Columns of a results file that are not metrics: read (the first three) or ignored.
_NOT_METRICS = frozenset(
    ("trial_id", "status", "error", "arch_id", "arch", "number", "state", "round", "attempts")
)

_OK = ("", "ok", "complete")
_FAILED = "failed"

#: The error kept for a failed row with an empty ``error`` cell.
_NO_ERROR = "failed (no error given)"


@dataclass(frozen=True)
class RowError:
    """A row of a results file that was not told.

    Attributes:
        line: Line of the file the row ends on (the header is line 1).
        trial_id: The row's trial id, ``None`` when it has none that reads as one.
        message: What is wrong and how to fix it.
    """

    line: int
    trial_id: int | None
    message: str

    def __str__(self) -> str:
        trial = "" if self.trial_id is None else f" (trial {self.trial_id})"
        return f"line {self.line}{trial}: {self.message}"


@dataclass(frozen=True)
class TellReport:
    """What :func:`tell_results` did with a results file.

    Attributes:
        path: The results file.
        told: The trials this call told, in file order.
        skipped: Ids of trials already told with the same result (e.g. a re-run after a
            crash), in file order.
        errors: The rows that were not told, in file order.
    """

    path: Path
    told: tuple[Trial, ...]
    skipped: tuple[int, ...]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        """Whether every row was told or skipped."""
        return not self.errors


def result_columns(study: Study, trials: Sequence[Trial]) -> list[str]:
    """The columns of :meth:`Study.rows` for ``trials``: :meth:`Trial.row`'s, the study's
    objectives first among the metrics, then every other metric by name."""
    names = [m for m, _ in study.objectives]
    extra = sorted({m for t in trials for m in t.metrics} - set(names))
    head, tail = _ROW_FIELDS[:5], _ROW_FIELDS[5:]
    return [*head, *names, *extra, *tail]


def write_trials_csv(
    path: str | Path,
    trials: Sequence[Trial],
    space: SearchSpace,
    columns: Sequence[str] = PENDING_COLUMNS,
) -> Path:
    """Write trials as a CSV file, one row each, atomically (whole or not at all).

    Args:
        path: The file; parent folders are created.
        trials: The trials, in the order of the rows.
        space: Their space (the ``arch`` column is its compact JSON form).
        columns: Columns of :meth:`Trial.row` (``trial_id``, ``number``, ``arch_id``,
            ``arch``, ``state``, ``error``, ``round``, ``attempts``); any other name is a
            metric, empty where a trial has none. Default: :data:`PENDING_COLUMNS`.

    Returns:
        ``path``.

    Raises:
        ConfigError: No columns, or a column named twice.
    """
    columns = list(columns)
    if not columns or len(set(columns)) != len(columns):
        raise ConfigError(
            f"`columns` must name each column once, e.g. {list(PENDING_COLUMNS)}; got {columns}."
        )
    metrics = [c for c in columns if c not in _ROW_FIELDS]
    rows = []
    for trial in trials:
        row = trial.row(space, metrics)
        rows.append([row[c] for c in columns])
    return write_csv_atomic(path, columns, rows)


def read_candidates(path: str | Path, space: SearchSpace) -> list[Architecture]:
    """The architectures of a candidate pool file, one per row, in file order.

    The file is a ``.csv``, ``.json``, ``.jsonl`` or ``.parquet`` table with an ``arch``
    column: an architecture's JSON form or its benchmark's native form (what
    :meth:`SearchSpace.parse` reads); other columns are ignored.

    Raises:
        DataError: The file cannot be read, has no rows or no ``arch`` column, or a row's
            architecture is not in ``space``.
    """
    from autobuild.data import read_architectures

    return read_architectures(path, space)


def tell_results(study: Study, path: str | Path) -> TellReport:
    """Tell every row of a results CSV file to ``study``, one committed tell per row.

    A row is told as soon as it is read, so a crash half-way loses nothing, and reading
    the same file again tells only the rows not told yet: a row whose trial is already
    told with the same result is skipped. Every row that cannot be told is reported in
    :attr:`TellReport.errors` (the other rows are still told): an unknown trial id, a trial
    already told with another result, an objective without a value, a value that is not a
    finite number, an unknown ``status``, or an ``arch_id`` that is not the trial's. The
    columns are described in the module docstring; the cells of a failed row other than
    ``trial_id`` and ``error`` may be empty (its metrics are not kept).

    Args:
        study: The study the trials were asked from.
        path: The results CSV file.

    Returns:
        What was told, skipped and refused.

    Raises:
        DataError: The file cannot be read, is not CSV, or has no ``trial_id`` column.
    """
    p = Path(path)
    header, rows = _read_results(p)
    metric_columns = [c for c in header if c not in _NOT_METRICS]
    objectives = [m for m, _ in study.objectives]
    told: list[Trial] = []
    skipped: list[int] = []
    errors: list[RowError] = []
    for row in rows:
        trial_id: int | None = None
        try:
            if row.extra > 0:
                raise _RowError(
                    f"{len(header) + row.extra} fields but the header has {len(header)}; "
                    "quote cells that contain commas (e.g. the JSON architecture)."
                )
            trial_id = _trial_id(row.cells.get("trial_id"))
            outcome = _tell_row(
                study, study.id, trial_id, row.cells, header, metric_columns, objectives
            )
        except _RowError as problem:
            errors.append(RowError(row.line, trial_id, str(problem)))
            continue
        if isinstance(outcome, Trial):
            told.append(outcome)
        else:
            skipped.append(int(trial_id))
    return TellReport(p, tuple(told), tuple(skipped), tuple(errors))


def study_summary(study: Study) -> dict[str, Any]:
    """Where a study stands, as a JSON-serialisable dict.

    Returns:
        ``name``, ``space`` (its name), ``objectives`` (``"metric:direction"`` texts),
        ``storage`` (its path), ``sampler`` (its configuration), ``candidates`` (size of
        the pool, ``None`` for the whole space), ``trials`` (how many), ``states``
        (``pending``, ``complete`` and ``failed`` counts), ``rounds`` (rounds the sampler
        learnt), ``best`` (the best trials -- the Pareto front with several objectives --
        each as ``trial_id``, ``arch_id`` and its objective values), and ``top_modules``:
        the last learning round's best-scored module of every unit per objective
        (``{objective: {unit: {"subgraph": ..., "score": ...}}}``), empty before any; and
        ``history``: every learning round's ``round``, ``n_told`` and ``top`` (the same
        best module per unit and objective), oldest first, to see how they changed.
    """
    trials = study.trials
    states = {state: sum(t.state == state for t in trials) for state in _STATES}
    names = [m for m, _ in study.objectives]
    best = [
        {"trial_id": t.id, "arch_id": t.arch_id, **{m: t.metrics[m] for m in names}}
        for t in study.best_trials
    ]
    rounds = study.explain()
    history = [
        {"round": r["round"], "n_told": r["n_told"], "top": _top_modules(r)} for r in rounds
    ]
    top = history[-1]["top"] if history else {}
    return {
        "name": study.name,
        "space": study.space.name,
        "objectives": [f"{m}:{d}" for m, d in study.objectives],
        "storage": study.storage.path,
        "sampler": study.sampler.to_config(),
        "candidates": None if study.candidates is None else len(study.candidates),
        "trials": len(trials),
        "states": states,
        "rounds": len(rounds),
        "last_round": rounds[-1]["round"] if rounds else None,
        "best": best,
        "top_modules": top,
        "history": history,
    }


def _top_modules(learnt_round: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The best-scored module of every unit per objective in one round of ``explain()``."""
    return {
        objective: {
            unit: dict(modules[0]) for unit, modules in learnt["modules"].items() if modules
        }
        for objective, learnt in learnt_round.get("objectives", {}).items()
    }


# -- internals ----------------------------------------------------------------------------

_STATES = ("pending", "complete", "failed")


class _RowError(Exception):
    """Why one row of a results file cannot be told (becomes a :class:`RowError`)."""


@dataclass(frozen=True)
class _Row:
    line: int
    cells: dict[str, str]
    extra: int  # fields beyond the header's


def _read_results(p: Path) -> tuple[list[str], list[_Row]]:
    """The header and the non-blank rows of a results file, cells stripped."""
    if not p.is_file():
        raise DataError(f"Results file {str(p)!r} does not exist; check the path.")
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            body = [(reader.line_num, cells) for cells in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"Cannot read results file {str(p)!r}: {err}.") from err
    if header is None:
        raise DataError(
            f"Results file {str(p)!r} is empty; it needs a header (trial_id and the "
            "objectives) and one row per result."
        )
    header = [h.strip() for h in header]
    if "trial_id" not in header:
        raise DataError(
            f"Results file {str(p)!r} has no 'trial_id' column; columns found: {header}. Give "
            "each result the trial_id of the pending file it was asked in."
        )
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise DataError(f"Results file {str(p)!r} names the column(s) {twice} twice.")
    rows = [
        _Row(
            line,
            dict(zip(header, (c.strip() for c in cells), strict=False)),
            len(cells) - len(header),
        )
        for line, cells in body
        if any(c.strip() for c in cells)
    ]
    return header, rows


def _trial_id(text: str | None) -> int:
    value = (text or "").strip()
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not value or not number.is_integer() or number < 1:
        raise _RowError(
            f"trial_id {value!r} is not a trial id (a positive integer); copy it from the "
            "pending file the trial was asked in."
        )
    return int(number)


def _tell_row(
    study: Study,
    study_id: int,
    trial_id: int,
    row: Mapping[str, str],
    header: Sequence[str],
    metric_columns: Sequence[str],
    objectives: Sequence[str],
) -> Trial | None:
    """Tell one row; the told trial, or ``None`` when it was already told the same."""
    try:
        record = study.storage.trial(trial_id)
    except DataError:
        record = None
    if record is None or record.study_id != study_id:
        raise _RowError(
            f"no trial {trial_id} in study {study.name!r} ({study.storage.path!r}); take "
            "trial ids from the pending file asked of this study (check the study name and "
            "the storage)."
        )
    arch_id = row.get("arch_id", "")
    if arch_id and arch_id != record.arch_id:
        raise _RowError(
            f"arch_id {arch_id!r} is not the trial's ({record.arch_id!r}): the row belongs to "
            "another trial or study; fix its trial_id, or drop the arch_id column."
        )
    status = row.get("status", "").lower()
    if status not in (*_OK, _FAILED):
        raise _RowError(
            f"status {row.get('status')!r} is not ok, complete or failed; leave it empty for "
            "a result, or write failed (and the reason in an error column)."
        )
    if status == _FAILED:
        error = row.get("error", "") or _NO_ERROR
        return _tell(study, record, None, error)
    metrics: dict[str, float] = {}
    for name in metric_columns:
        text = row.get(name, "")
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise _RowError(
                f"{name} = {text!r} is not a number; write a plain number (e.g. 0.93), or "
                "mark the row status=failed with an error."
            ) from None
        if not math.isfinite(value):
            raise _RowError(
                f"{name} = {text!r} is not a finite number; tell a diverged evaluation as "
                "status=failed with an error."
            )
        metrics[name] = value
    missing = [m for m in objectives if m not in metrics]
    if missing:
        absent = [m for m in missing if m not in header]
        why = f" (the file has no {absent} column)" if absent else ""
        raise _RowError(
            f"no value for the objective(s) {missing}{why}; add it, or mark the row "
            "status=failed with an error."
        )
    return _tell(study, record, metrics, None)


def _tell(
    study: Study, record: TrialRecord, metrics: dict[str, float] | None, error: str | None
) -> Trial | None:
    """Tell a trial unless it already holds this result (``None``); refuse another one."""
    if not record.done:
        try:
            if metrics is not None:
                return study.tell(record.id, metrics)
            return study.tell(record.id, failed=error)
        except ConfigError as err:  # told by another process since we read it: compare below
            record = study.storage.trial(record.id)
            if not record.done:
                raise _RowError(str(err)) from err
        except DataError as err:
            raise _RowError(str(err)) from err
    if _same(record, metrics, error):
        return None
    says = f"failed ({error})" if metrics is None else _metrics_text(metrics)
    holds = (
        f"failed ({record.error})" if record.state == "failed" else _metrics_text(record.metrics)
    )
    raise _RowError(
        f"the trial is already told as {holds}, but this row says {says}; a trial keeps its "
        "first result: drop or correct the row (ask a new trial to evaluate again)."
    )


def _same(record: TrialRecord, metrics: dict[str, float] | None, error: str | None) -> bool:
    if metrics is None:
        return record.state == "failed" and record.error == error
    return (
        record.state == "complete"
        and set(record.metrics) == set(metrics)
        and all(math.isclose(record.metrics[k], v, rel_tol=1e-12) for k, v in metrics.items())
    )


def _metrics_text(metrics: Mapping[str, float]) -> str:
    return json.dumps(dict(metrics), sort_keys=True) if metrics else "no metrics"
