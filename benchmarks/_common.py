"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=JSON`` (repeatable): override a predictor setting for an ablation."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="Override a predictor setting, e.g. --set unit_lambda=0 (ablations).",
    )


def overrides(items: list[str]) -> dict[str, Any]:
    """The ``--set`` items as keyword arguments (values parsed as JSON)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        out[key] = json.loads(value)
    return out
