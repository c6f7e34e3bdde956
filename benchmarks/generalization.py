"""Generalization: AutoBuild against one-hot baselines on every real dataset (Markdown table).

Datasets (each a space, its architectures and one label per architecture):

- ``nbm/acc``: NAS-Bench-Macro CIFAR-10 ``mean_acc`` (``load_nasbench_macro``; its 6,561
  keys name 3,969 distinct architectures, each kept once).
- ``help/<column>``: HELP's 12 GPU latency columns of 5,000 OFA-MobileNetV3 subnets
  (``load_help_ofa_mbv3``).
- ``transnas/<task>``: the 7 ``val_*`` tasks of the TransNAS-Bench-101 macro subset shipped
  by NASLib (``$AUTOBUILD_DATA/transnas_macro/transnas_macro_naslib_subset.csv``; 725
  networks, 662 for the two classification tasks), in the space declared by
  ``benchmarks/spaces/transnas_macro.toml``: one stage of 4-6 modules, each coded 1-4
  (the file's codes ``M0..M5``, 0 meaning absent).
- ``ofa-mbv3/<metric>`` and ``ofa-pn/<metric>``: ``latency_cpu_ms``, ``params`` and
  ``flops`` read from ``<measured-dir>/ofa-mbv3_measured.csv`` and ``ofa-pn_measured.csv``
  (an ``arch`` column and one column per metric); a missing file or column is skipped with a
  warning.

Protocol: for every dataset, every number of training labels ``n`` (100, 300 and 1,000) such
that the dataset has at least ``n + 200`` rows, and every seed (0-2): the rows are permuted by
``numpy.random.default_rng(seed)``, the first ``n`` train and the next ``min(2000, rest)`` are
held out. On the same split, an AutoBuild predictor (``--preset`` with ``--set`` overrides,
``random_state=seed``) and each one-hot baseline of ``autobuild.baselines`` (ridge and
gradient-boosted trees, ``seed=seed``) are trained, and their held-out Spearman is recorded,
with the predictor's per-hop embedding-norm Spearman ("best hop" is the highest). One torch
thread per task; ``--jobs`` runs tasks in parallel worker processes.

Every finished task is appended at once as one JSON line to ``--out``; a re-run with the
same ``--out``, preset and overrides skips the tasks already there (resume after a kill). The
table has one row per (dataset, n) with medians over seeds; a row "holds" when the
predictor's Spearman is at least the best baseline's and its best hop is within 0.02 of it.

    OMP_NUM_THREADS=1 python benchmarks/generalization.py [--datasets 'help/*' nbm/acc]
        [--labels 100 300 1000] [--seeds 0 1 2] [--preset default] [--set steps=2000]
        [--jobs 1] [--out generalization.jsonl] [--json rows.json]
        [--measured-dir benchmarks/data] [--list]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import fnmatch
import functools
import json
import logging
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import add_set_option
from _common import overrides as parse_overrides

from autobuild import spaces
from autobuild.data import load_help_ofa_mbv3, load_nasbench_macro, load_table
from autobuild.exceptions import ConfigError, DataError
from autobuild.predictor import PredictorConfig
from autobuild.predictor.config import PRESETS
from autobuild.spaces import Architecture, SearchSpace

logger = logging.getLogger("generalization")

HERE = Path(__file__).resolve().parent
TRANSNAS_SPACE = HERE / "spaces" / "transnas_macro.toml"
TRANSNAS_FILE = Path("transnas_macro") / "transnas_macro_naslib_subset.csv"
TRANSNAS_TASKS = (
    "val_class_scene",
    "val_class_object",
    "val_autoencoder",
    "val_normal",
    "val_jigsaw",
    "val_room_layout",
    "val_segmentsemantic",
)
TRANSNAS_MODULES = 6  # columns M0..M5
HELP_COLUMNS = tuple(
    f"lat_{gpu}_{batch}"
    for gpu in ("2080ti", "titan_rtx", "titan_xp", "v100")
    for batch in (1, 32, 64)
)
MEASURED_SPACES = ("ofa-mbv3", "ofa-pn")
MEASURED_METRICS = ("latency_cpu_ms", "params", "flops")
BASELINE_NAMES = ("ridge", "trees")

MIN_HELD_OUT = 200  # a label count runs only when this many rows are left to hold out
MAX_HELD_OUT = 2000
HOLD_MARGIN = 0.02  # the best hop may trail the best baseline by this much

# One dataset: its space, architectures and labels (finite, aligned with the architectures).
Dataset = tuple[SearchSpace, list[Architecture], np.ndarray]


@dataclass(frozen=True)
class Source:
    """A group of datasets read from one file: ``<prefix>/<name>`` for every name."""

    prefix: str
    names: tuple[str, ...]
    load: Callable[[Path], dict[str, Dataset]]  # measured dir -> dataset name -> data


def _load_nbm(measured_dir: Path) -> dict[str, Dataset]:
    data, y = load_nasbench_macro().target("mean_acc")
    return {"nbm/acc": (data.space, list(data.archs), y)}


def _load_help(measured_dir: Path) -> dict[str, Dataset]:
    data = load_help_ofa_mbv3()
    out = {}
    for column in HELP_COLUMNS:
        kept, y = data.target(column)
        out[f"help/{column}"] = (kept.space, list(kept.archs), y)
    return out


def _load_transnas(measured_dir: Path) -> dict[str, Dataset]:
    root = os.environ.get("AUTOBUILD_DATA")
    if not root:
        raise DataError("Set AUTOBUILD_DATA to the folder that holds transnas_macro/.")
    path = Path(root) / TRANSNAS_FILE
    space = spaces.from_toml(TRANSNAS_SPACE)
    archs: list[Architecture] = []
    labels: dict[str, list[float]] = {task: [] for task in TRANSNAS_TASKS}
    try:
        fh = path.open(newline="")
    except OSError as err:
        raise DataError(f"Cannot read the TransNAS-Bench-101 subset {path}: {err}.") from err
    with fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                codes = [int(row[f"M{i}"]) for i in range(TRANSNAS_MODULES)]
                modules = [c for c in codes if c != 0]
                if codes[: len(modules)] != modules:
                    raise ValueError(f"absent modules (0) before present ones: {codes}")
                archs.append(space.parse([[{"code": c} for c in modules]]))
                for task in TRANSNAS_TASKS:
                    cell = row[task].strip()
                    labels[task].append(float(cell) if cell else math.nan)
            except (KeyError, TypeError, ValueError) as err:
                raise DataError(f"{path}, line {line}: not a TransNAS macro row ({err}).") from err
    out = {}
    for task in TRANSNAS_TASKS:
        y = np.asarray(labels[task])
        keep = np.flatnonzero(np.isfinite(y))
        logger.debug("transnas/%s: %d of %d rows labelled", task, keep.size, len(y))
        out[f"transnas/{task}"] = (space, [archs[i] for i in keep], y[keep])
    return out


def _measured_loader(space_name: str) -> Callable[[Path], dict[str, Dataset]]:
    def load(measured_dir: Path) -> dict[str, Dataset]:
        path = measured_dir / f"{space_name}_measured.csv"
        if not path.is_file():
            logger.warning("Skipping %s/*: %s does not exist", space_name, path)
            return {}
        data = load_table(path, spaces.get(space_name))
        out = {}
        for metric in MEASURED_METRICS:
            if metric not in data.metrics:
                logger.warning(
                    "Skipping %s/%s: %s has no %r column", space_name, metric, path, metric
                )
                continue
            kept, y = data.target(metric)
            out[f"{space_name}/{metric}"] = (kept.space, list(kept.archs), y)
        return out

    return load


SOURCES = (
    Source("nbm", ("acc",), _load_nbm),
    Source("help", HELP_COLUMNS, _load_help),
    Source("transnas", TRANSNAS_TASKS, _load_transnas),
    *(Source(s, MEASURED_METRICS, _measured_loader(s)) for s in MEASURED_SPACES),
)


@functools.cache
def _load_source(prefix: str, measured_dir: Path) -> dict[str, Dataset]:
    """The datasets of one source, read once per process."""
    source = next(s for s in SOURCES if s.prefix == prefix)
    return source.load(measured_dir)


def load_datasets(patterns: list[str] | None, measured_dir: Path) -> dict[str, Dataset]:
    """Every available dataset whose name matches one of ``patterns`` (all when ``None``).

    Only the sources with a matching name are read.
    """

    def wanted(name: str) -> bool:
        return patterns is None or any(fnmatch.fnmatchcase(name, p) for p in patterns)

    out: dict[str, Dataset] = {}
    for source in SOURCES:
        if not any(wanted(f"{source.prefix}/{n}") for n in source.names):
            continue
        try:
            loaded = _load_source(source.prefix, measured_dir)
        except DataError as err:
            raise SystemExit(f"{source.prefix}/*: {err}") from err
        out.update((k, v) for k, v in loaded.items() if wanted(k))
    return out


def split(n_rows: int, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out row indices of one task (see the module docstring)."""
    order = np.random.default_rng(seed).permutation(n_rows)
    n_test = min(MAX_HELD_OUT, n_rows - n_train)
    return order[:n_train], order[n_train : n_train + n_test]


def _best(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return max(finite) if finite else math.nan


def run_task(
    name: str, n: int, seed: int, preset: str, overrides: dict[str, Any], measured_dir: Path
) -> dict[str, Any]:
    """Train and evaluate the predictor and the baselines on one split; the JSON record."""
    import torch

    from autobuild.baselines import evaluate_baselines
    from autobuild.predictor import AutoBuildPredictor

    torch.set_num_threads(1)
    prefix = name.partition("/")[0]
    space, archs, y = _load_source(prefix, measured_dir)[name]
    train, test = split(len(archs), n, seed)
    train_archs, test_archs = [archs[i] for i in train], [archs[i] for i in test]
    y_train, y_test = y[train], y[test]

    config = PredictorConfig.preset(preset, **overrides)
    pred = AutoBuildPredictor(space, config, random_state=seed)
    pred.fit(train_archs, y_train)
    metrics = pred.evaluate(test_archs, y_test)
    hops = [float(h) for h in metrics["hop_srcc"]]

    start = time.perf_counter()
    baselines = evaluate_baselines(space, train_archs, y_train, test_archs, y_test, seed=seed)
    baseline_seconds = time.perf_counter() - start
    return {
        "dataset": name,
        "n": n,
        "seed": seed,
        "preset": preset,
        "overrides": overrides,
        "rows": len(archs),
        "n_test": len(test),
        "srcc": float(metrics["srcc"]),
        "hop_srcc": hops,
        "best_hop": _best(hops),
        "train_seconds": float(pred.train_seconds_),
        "blend": pred.blend_cv_,
        **{b: float(baselines[b]) for b in BASELINE_NAMES},
        "baseline_seconds": baseline_seconds,
        "config": config.to_dict(),
    }


def _run_all(
    tasks: list[tuple[str, int, int]],
    jobs: int,
    preset: str,
    overrides: dict[str, Any],
    measured_dir: Path,
) -> Iterator[tuple[tuple[str, int, int], dict[str, Any] | Exception]]:
    """Run the tasks (in this process, or in ``jobs`` workers) and yield each one's record,
    or the exception it raised, as it finishes."""
    if jobs == 1:
        import torch

        torch.set_num_threads(1)
        for task in tasks:
            try:
                yield task, run_task(*task, preset, overrides, measured_dir)
            except Exception as err:
                yield task, err
        return
    if not tasks:
        return
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
    )
    try:
        futures = {
            pool.submit(run_task, *task, preset, overrides, measured_dir): task for task in tasks
        }
        for future in concurrent.futures.as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as err:
                yield futures[future], err
    finally:
        # On Ctrl-C, drop the queued tasks instead of running them all before exiting.
        pool.shutdown(wait=True, cancel_futures=True)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)
    _configure_logging()


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logger.setLevel(logging.INFO)


def read_done(path: Path, settings: dict[str, Any]) -> dict[tuple[str, int, int], dict]:
    """The records of ``path`` made with ``settings`` (the last one of each task)."""
    done: dict[tuple[str, int, int], dict] = {}
    if not path.is_file():
        return done
    with path.open() as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                key = (rec["dataset"], rec["n"], rec["seed"])
                same = all(rec[k] == v for k, v in settings.items())
            except (json.JSONDecodeError, KeyError, TypeError):
                logger.warning("%s line %d is not a complete record; ignored", path, lineno)
                continue
            if same:
                done[key] = rec
    return done


def append_record(path: Path, rec: dict[str, Any]) -> None:
    """Append one JSON line and flush it (after a newline if a killed run left half a line)."""
    with path.open("a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write((json.dumps(rec) + "\n").encode())
        fh.flush()


def aggregate(
    records: list[dict[str, Any]], names: list[str], labels: list[int]
) -> list[dict[str, Any]]:
    """One row per (dataset, n) that has records: medians over seeds and whether it holds."""
    rows = []
    for name in names:
        for n in labels:
            recs = [r for r in records if r["dataset"] == name and r["n"] == n]
            if not recs:
                continue

            def med(key: str, recs: list[dict[str, Any]] = recs) -> float:
                return float(np.median([r[key] for r in recs]))

            row: dict[str, Any] = {
                "dataset": name,
                "labels": n,
                "seeds": sorted(r["seed"] for r in recs),
                "n_test": recs[0]["n_test"],
                "predictor": med("srcc"),
                "best_hop": med("best_hop"),
                **{b: med(b) for b in BASELINE_NAMES},
                "train_seconds": med("train_seconds"),
                "baseline_seconds": med("baseline_seconds"),
            }
            best_baseline = max(row[b] for b in BASELINE_NAMES)
            row["holds"] = bool(
                row["predictor"] >= best_baseline
                and row["best_hop"] >= best_baseline - HOLD_MARGIN
            )
            rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace, n_seeds: int) -> None:
    extra = "".join(f", {item}" for item in args.set)
    seeds = ", ".join(map(str, args.seeds))
    print(
        f"## Held-out Spearman: AutoBuild (preset '{args.preset}'{extra}) vs one-hot "
        f"baselines, seeds {seeds} (median), up to {MAX_HELD_OUT:,} held out, 1 thread\n"
    )
    header = [
        "data",
        "labels",
        args.preset,
        "best hop",
        *BASELINE_NAMES,
        "train s",
        "holds",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        labels = f"{r['labels']:,}"
        if len(r["seeds"]) < n_seeds:
            labels += f" ({len(r['seeds'])}/{n_seeds} seeds)"
        cells = [
            r["dataset"],
            labels,
            f"{r['predictor']:.3f}",
            f"{r['best_hop']:.3f}",
            *(f"{r[b]:.3f}" for b in BASELINE_NAMES),
            f"{r['train_seconds']:.1f}",
            "yes" if r["holds"] else "no",
        ]
        print("| " + " | ".join(cells) + " |")
    held = sum(r["holds"] for r in rows)
    print(
        f"\n{held} of {len(rows)} rows hold ({args.preset} >= best baseline, best hop >= best "
        f"baseline - {HOLD_MARGIN})."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        metavar="PATTERN",
        help="Dataset names or fnmatch patterns, e.g. 'help/*' nbm/acc (default: all).",
    )
    parser.add_argument(
        "--labels",
        type=int,
        nargs="+",
        default=[100, 300, 1000],
        help="Training labels; a count runs where at least that many + 200 rows exist.",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    add_set_option(parser)
    parser.add_argument("--jobs", type=int, default=1, help="Worker processes (1 thread each).")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("generalization.jsonl"),
        help="JSON Lines file of per-task results; tasks already in it are skipped.",
    )
    parser.add_argument("--json", type=Path, help="Also write the table rows to this file.")
    parser.add_argument(
        "--measured-dir",
        type=Path,
        default=HERE / "data",
        help="Folder of <space>_measured.csv files (default: benchmarks/data).",
    )
    parser.add_argument("--list", action="store_true", help="List the datasets and exit.")
    args = parser.parse_args()
    _configure_logging()
    if args.jobs < 1 or min(args.labels) < 2:
        parser.error("--jobs must be >= 1 and every --labels value >= 2")
    overrides = parse_overrides(args.set)
    try:
        PredictorConfig.preset(args.preset, **overrides)
    except ConfigError as err:
        parser.error(str(err))

    measured_dir = args.measured_dir.resolve()
    datasets = load_datasets(args.datasets, measured_dir)
    if not datasets:
        raise SystemExit(f"No dataset matches {args.datasets}; see --list.")
    if args.list:
        width = max(map(len, datasets))
        for name, (space, archs, _) in datasets.items():
            print(f"{name:<{width}}  {len(archs):>5}  {space.name}")
        return 0

    labels = sorted(set(args.labels))
    seeds = list(dict.fromkeys(args.seeds))
    settings = {"preset": args.preset, "overrides": overrides}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = read_done(args.out, settings)
    tasks, records = [], []
    for name, (_, archs, _) in datasets.items():
        for n in labels:
            if len(archs) < n + MIN_HELD_OUT:
                logger.info("%s: %d rows, too few for %d labels; skipped", name, len(archs), n)
                continue
            for seed in seeds:
                rec = done.get((name, n, seed))
                if rec is not None and rec["rows"] == len(archs):
                    records.append(rec)
                else:
                    tasks.append((name, n, seed))
    logger.info(
        "%d tasks to run, %d already in %s; %d job(s)",
        len(tasks),
        len(records),
        args.out,
        args.jobs,
    )

    total = len(records) + len(tasks)
    failed = 0
    results = _run_all(tasks, args.jobs, args.preset, overrides, measured_dir)
    for k, ((name, n, seed), out) in enumerate(results, start=len(records) + 1):
        if isinstance(out, BaseException):
            logger.error("[%d/%d] %s n=%d seed=%d failed", k, total, name, n, seed, exc_info=out)
            failed += 1
            continue
        append_record(args.out, out)
        records.append(out)
        logger.info(
            "[%d/%d] %s n=%d seed=%d: srcc %.3f, best hop %.3f, ridge %.3f, trees %.3f "
            "(predictor %.1f s, baselines %.1f s)",
            k,
            total,
            name,
            n,
            seed,
            out["srcc"],
            out["best_hop"],
            out["ridge"],
            out["trees"],
            out["train_seconds"],
            out["baseline_seconds"],
        )

    rows = aggregate(records, list(datasets), labels)
    print_table(rows, args, len(seeds))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if failed:
        logger.error("%d task(s) failed; re-run to retry them", failed)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
