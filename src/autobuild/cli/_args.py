"""Argument types and option groups shared by the commands of the command line.

The types raise :class:`argparse.ArgumentTypeError`, so argparse reports a bad value as a
usage error (exit status 2) naming the option.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

__all__ = [
    "add_ensemble_options",
    "add_executor",
    "add_labelled",
    "add_shift",
    "add_space",
    "executor_name",
    "float_list",
    "fraction",
    "k_list",
    "objective_list",
    "positive_int",
    "tensor_shape",
    "wide_weight",
]

logger = logging.getLogger("autobuild.cli")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def wide_weight(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number in [0, 1], got {text!r}")
    return value


def tensor_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.split(","))
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, e.g. 3,32,32; got {text!r}"
        )
    return dims


def k_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or comma-separated integers, got {text!r}"
        ) from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"every K must be >= 1, got {text!r}")
    return values


def float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from err


def objective_list(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(","):
        name, sep, direction = item.strip().rpartition(":")
        if not sep or not name or direction not in ("max", "min"):
            raise argparse.ArgumentTypeError(
                f"expected METRIC:max or METRIC:min separated by commas, e.g. "
                f"mean_acc:max,flops:min; got {text!r}"
            )
        out.append((name, direction))
    return out


def add_space(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--space",
        required=True,
        help="A built-in space (see 'autobuild spaces') or a .toml file declaring one.",
    )


def add_shift(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shift",
        choices=["auto", "eq5", "additive", "raw"],
        help="How embedding norms become module scores: eq5 (the paper's distribution shift), "
        "additive (the unit heads), raw (the norms themselves) or auto (a checkpoint's unit "
        "heads when trained, else eq5; eq5 for an ensemble). Default: auto.",
    )


def add_labelled(parser: argparse.ArgumentParser) -> None:
    """Options shared by the commands that learn from labelled data."""
    add_space(parser)
    parser.add_argument(
        "--data",
        type=Path,
        help="CSV/JSON/Parquet file with an 'arch' column and metric columns (optional "
        "for nasbench-macro: the benchmark table is used).",
    )
    parser.add_argument(
        "--target",
        help="Target expression over metric names, e.g. 'acc/latency'; higher is better "
        "unless --direction min (or negate a cost, e.g. '-fid') (default for nasbench-macro: "
        "mean_acc).",
    )
    parser.add_argument(
        "--n-labeled", type=positive_int, help="Use N random rows of the data (seeded)."
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="Random seed of the labelled draw, split and weights (the same N and seed draw "
        "the same rows in train, ensemble and exhaustive; default: 0).",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="Refuse NaN/infinite metrics or targets instead of skipping them.",
    )


def executor_name(text: str) -> str:
    """An ``--executor`` value; the former name ``inprocess`` reads as ``serial``."""
    if text == "inprocess":
        logger.warning("--executor inprocess is deprecated; use --executor serial (the same)")
        return "serial"
    return text


def add_executor(parser: argparse.ArgumentParser, *, default: str, help: str) -> None:
    """``--executor``: where the command's parallel work runs (:mod:`autobuild.execution`)."""
    from autobuild.execution import EXECUTORS

    parser.add_argument(
        "--executor", type=executor_name, choices=list(EXECUTORS), default=default, help=help
    )


def add_ensemble_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folds", type=positive_int, default=5, help="Folds (default: 5).")
    parser.add_argument(
        "--seeds", type=positive_int, default=4, help="Shuffling seeds (default: 4)."
    )
    add_executor(
        parser,
        default="process",
        help="Where members train: local worker processes (default), this process, or Ray.",
    )
    parser.add_argument("--jobs", type=positive_int, help="Local worker processes.")
    parser.add_argument("--ray-address", help="Address of a running Ray cluster.")
    parser.add_argument("--epochs", type=positive_int, help="Epochs per member.")
    parser.add_argument(
        "--direction",
        choices=["max", "min"],
        default="max",
        help="Whether higher (max) or lower (min) targets are better; rankings put the best "
        "first (default: max).",
    )
    parser.add_argument("--out", type=Path, required=True, help="Output folder.")
