"""Measuring architectures into a CSV file that a killed run resumes from (``autobuild measure``).

The CSV file is the state of the measurement: one row per given architecture, in the given
order (repeats included), with columns ``arch_id``, ``arch`` (JSON) and the metric, empty
where it is not measured yet. It is rewritten atomically after every chunk of
architectures, so a killed run loses at most the chunk in flight, and a rerun measures only
the architectures whose value is still empty.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from autobuild._atomic import write_csv_atomic
from autobuild._progress import progress_bar
from autobuild.evaluation.base import BaseEvaluator
from autobuild.exceptions import ConfigError
from autobuild.spaces import Architecture, SearchSpace

__all__ = ["measure_to_csv"]

logger = logging.getLogger(__name__)


def measure_to_csv(
    space: SearchSpace,
    archs: Sequence[Architecture],
    evaluator: BaseEvaluator,
    out: str | Path,
    metric: str,
    *,
    chunk: int = 16,
    progress: bool = False,
) -> int:
    """Measure ``metric`` of ``archs`` into the CSV file ``out``, resuming what it holds.

    Architectures whose ``metric`` cell in an existing ``out`` is filled are not measured
    again (the file is the record of what was measured); the others are measured in chunks
    of ``chunk`` distinct architectures, and ``out`` is rewritten after every chunk. A value
    is written as an integer when it is one (``890666``), else as Python's ``repr`` of the
    float.

    The evaluator runs in this process, one chunk at a time (no worker processes): a latency
    is measured on this machine, never beside another measurement.

    Args:
        space: The space of ``archs``.
        archs: The architectures, in the order of the rows of ``out`` (repeats allowed).
        evaluator: Gives ``metric`` (e.g. a :class:`~autobuild.evaluation.CostEvaluator`
            or :class:`~autobuild.evaluation.LatencyEvaluator`).
        out: The CSV file; created with its folders if missing.
        metric: The metric to measure, and the name of its column.
        chunk: Architectures measured between two writes of ``out``.
        progress: Show a progress bar (on stderr).

    Returns:
        The number of distinct architectures measured by this call.

    Raises:
        ConfigError: ``evaluator`` does not give ``metric``, or a bad ``chunk``.
    """
    if metric not in evaluator.metric_names:
        raise ConfigError(
            f"{type(evaluator).__name__} gives {evaluator.metric_names}, not {metric!r}; "
            "measure one of those."
        )
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ConfigError(f"`chunk` must be an integer >= 1, got {chunk!r}.")
    path = Path(out)
    done: dict[str, str] = {}
    if path.exists():
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get(metric):
                    done[row["arch_id"]] = row[metric]
    ids = [space.arch_id(a) for a in archs]
    todo = [a for a, i in zip(archs, ids, strict=True) if i not in done]
    n_todo = len(dict.fromkeys(todo))
    logger.info("%d of %d architectures to measure", n_todo, len(archs))

    def write() -> None:
        write_csv_atomic(
            path,
            ["arch_id", "arch", metric],
            (
                [i, json.dumps(space.to_json(a)), done.get(i, "")]
                for a, i in zip(archs, ids, strict=True)
            ),
        )

    bar = progress_bar(len(todo), progress, desc=metric, unit="arch")
    for lo in range(0, len(todo), chunk):
        batch = list(dict.fromkeys(todo[lo : lo + chunk]))
        for arch, rec in zip(batch, evaluator.evaluate(batch), strict=True):
            value = float(rec[metric])
            done[space.arch_id(arch)] = str(int(value)) if value.is_integer() else repr(value)
        write()  # every chunk lands on disk: a killed run resumes from here
        if bar is not None:
            bar.update(len(todo[lo : lo + chunk]))
    if bar is not None:
        bar.close()
    write()
    return n_todo
