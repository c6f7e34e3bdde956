"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

import numpy as np

from autobuild.data import load_nasbench_macro
from autobuild.demo import TrueRanks
from autobuild.scoring import ModuleScores, SubgraphScore
from autobuild.spaces import Architecture, SearchSpace


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


def stage_one_hot(space: SearchSpace, archs: list[Architecture]) -> tuple[np.ndarray, list]:
    """One column per (unit, stage subgraph): 1 where the architecture has that subgraph."""
    columns = [(u, sg) for u in range(space.num_units) for sg in space.enumerate_subgraphs(u)]
    index = {c: i for i, c in enumerate(columns)}
    x = np.zeros((len(archs), len(columns)))
    for r, a in enumerate(archs):
        for u in range(space.num_units):
            x[r, index[(u, space.unit_subgraph(a, u))]] = 1.0
    return x, columns


def least_squares_scores(truth: TrueRanks, tau: float | None = None) -> ModuleScores:
    """One score per stage subgraph, least squares on all 6,561 NAS-Bench-Macro keys.

    The noise-free limit of a stage-additive scorer: what summed stage scores build with every
    architecture labelled. Every key counts once (a network with two keys counts twice).

    Args:
        truth: True accuracies.
        tau: If given, weight every key by ``exp((acc - best acc) / tau)`` (accuracy in %),
            so the fit concentrates on the best architectures.
    """
    space = truth.space
    archs = list(load_nasbench_macro().archs)
    counts = Counter(truth.key_ids)
    x, columns = stage_one_hot(space, archs)
    y = np.asarray([truth.acc(a) for a in archs])
    w = np.asarray([counts[space.arch_id(a)] for a in archs], dtype=float)
    if tau is not None:
        w = w * np.exp((y - y.max()) / tau)
    w = np.sqrt(w)
    xb = np.c_[x, np.ones(len(x))]
    coef = np.linalg.lstsq(xb * w[:, None], y * w, rcond=None)[0][:-1]
    records = []
    for (u, sg), c in zip(columns, coef, strict=True):
        n = sum(len(st) for st in sg)
        records.append(SubgraphScore(u, space.unit_name(u), n, sg, n - 1, float(c), float(c)))
    return ModuleScores(space, tuple(records), shift="raw")
