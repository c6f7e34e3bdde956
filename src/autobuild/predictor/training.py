"""The training workflow: pick labelled rows, compute the target, split, fit, evaluate, save."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autobuild._atomic import write_json_atomic
from autobuild.data import LabeledData, TargetExpression
from autobuild.exceptions import ConfigError, DataError
from autobuild.predictor.config import PredictorConfig, Preset
from autobuild.predictor.estimator import AutoBuildPredictor
from autobuild.spaces import Architecture

__all__ = ["TrainResult", "select_labelled", "train_predictor"]

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_predictor` produced.

    Attributes:
        predictor: The fitted predictor.
        metrics: Held-out ``srcc``, ``kendall``, ``mae`` (raw units), ``hop_srcc`` (hops
            0..M; NaN without a test split) and ``n_train``, ``n_test``, ``train_seconds``;
            ``baselines`` (``{name: srcc}``) when baselines were measured.
        train_archs: The training architectures, in training order.
        test_archs: The held-out architectures.
    """

    predictor: AutoBuildPredictor
    metrics: dict[str, Any]
    train_archs: tuple[Architecture, ...]
    test_archs: tuple[Architecture, ...]


def select_labelled(
    data: LabeledData,
    target: str | TargetExpression,
    *,
    n_labeled: int | None = None,
    seed: int = 0,
    strict: bool = False,
) -> tuple[LabeledData, np.ndarray]:
    """The labelled rows a command uses: ``n_labeled`` rows drawn with ``seed``.

    The target is computed on every row (rows where it is not finite are skipped and
    counted, or refused with ``strict``), then ``n_labeled`` of the usable rows are drawn
    without replacement by ``numpy.random.default_rng(seed)`` (all of them, shuffled, when
    ``None``). Every command that takes ``--n-labeled`` and ``--seed`` draws through this
    function, so the same numbers select the same architectures for ``train``,
    ``ensemble`` and ``exhaustive``.

    Returns:
        The drawn rows and their target values, in draw order.

    Raises:
        DataError: More rows asked for than have a finite target.
    """
    expr = target if isinstance(target, TargetExpression) else TargetExpression(target)
    usable, y_all = data.target(expr, strict=strict)
    n = len(usable) if n_labeled is None else n_labeled
    if n > len(usable):
        raise DataError(
            f"--n-labeled {n} exceeds the {len(usable)} architectures with a finite target "
            f"{expr.text!r} in {data.source or 'the data'}; use at most {len(usable)}."
        )
    rows = np.random.default_rng(seed).choice(len(usable), n, replace=False)
    return usable.subset(rows), y_all[rows]


def train_predictor(
    data: LabeledData,
    target: str | TargetExpression,
    *,
    n_labeled: int | None = None,
    seed: int = 0,
    test_fraction: float = 0.1,
    preset: Preset = "default",
    strict: bool = False,
    progress: bool = False,
    out: str | Path | None = None,
    metadata: dict[str, Any] | None = None,
    baselines: bool = True,
    **params: Any,
) -> TrainResult:
    """Train an AutoBuild predictor on labelled data and report held-out metrics.

    The target is computed on every row (rows where it is NaN or infinite are skipped and
    counted, or refused with ``strict``); ``n_labeled`` rows are then drawn with ``seed``
    (all rows, shuffled, when ``None``); the first ``(1 - test_fraction)`` of them train the
    predictor and the rest measure it. Unless ``baselines`` is false, the one-hot baselines
    of :mod:`autobuild.baselines` are fitted on the same training rows and measured on the
    same held-out rows, so the predictor's Spearman can be judged against theirs.

    Args:
        data: Evaluated architectures and their metrics.
        target: Target expression over the metric names (e.g. ``"acc/latency"``).
        n_labeled: How many labelled architectures to use.
        seed: Seed for the row draw, the split, weight initialisation and batch order.
        test_fraction: Held-out fraction in ``[0, 1)``; ``0`` trains on every row.
        preset: Hyper-parameter preset, one of :data:`~autobuild.predictor.config.PRESETS`.
        strict: Refuse rows whose target is not finite.
        progress: Show a progress bar.
        out: If given, write the checkpoint and ``metrics.json`` to this folder.
        metadata: Stored in the checkpoint (e.g. ``{"direction": "min", "unit": "ms",
            "device": "2080Ti"}`` for a latency predictor; evaluators read them).
        baselines: Also report each baseline's held-out Spearman, as
            ``metrics["baselines"] = {name: srcc}``. The key is absent when ``baselines`` is
            false or nothing is held out (``test_fraction`` rounds to no rows).
        **params: Overrides of :class:`PredictorConfig` fields.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ConfigError: Invalid ``test_fraction`` or hyper-parameters.
        DataError: Too few usable rows.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"`test_fraction` must be in [0, 1), got {test_fraction!r}.")
    expr = target if isinstance(target, TargetExpression) else TargetExpression(target)
    config = PredictorConfig.preset(preset, **params)
    chosen, y = select_labelled(data, expr, n_labeled=n_labeled, seed=seed, strict=strict)
    n = len(chosen)
    n_test = round(test_fraction * n)
    n_train = n - n_test
    if n_train < 2:
        raise DataError(
            f"Only {n_train} training architectures remain after holding out {n_test}; "
            "label more architectures or lower --test-fraction."
        )
    if 0 < n_test < 2:
        logger.warning("Only %d held-out architecture: its metrics are undefined", n_test)
    archs = list(chosen.archs)
    predictor = AutoBuildPredictor(data.space, config, random_state=seed, progress=progress)
    predictor.fit(archs[:n_train], y[:n_train])
    if n_test:
        quality = predictor.evaluate(archs[n_train:], y[n_train:])
    else:
        hops = predictor.config.num_layers + 1
        quality = {
            "srcc": math.nan,
            "kendall": math.nan,
            "mae": math.nan,
            "hop_srcc": [math.nan] * hops,
        }
    metrics = {
        **quality,
        "n_train": n_train,
        "n_test": n_test,
        "train_seconds": predictor.train_seconds_,
        "target": expr.text,
        "space": data.space.name,
        "seed": seed,
        "n_labeled": n,
        "test_fraction": test_fraction,
        "preset": preset,
        "data": data.source,
        "config": config.to_dict(),
    }
    if predictor.blend_cv_:
        metrics["blend"] = predictor.blend_cv_
    if baselines and n_test:
        from autobuild.baselines import evaluate_baselines

        metrics["baselines"] = evaluate_baselines(
            data.space, archs[:n_train], y[:n_train], archs[n_train:], y[n_train:], seed=seed
        )
    # The returned predictor carries what its checkpoint stores (its direction, unit, ...),
    # so it ranks and evaluates the same before and after a save and load.
    predictor.metadata_ = {**(metadata or {}), "target": expr.text, "metrics": metrics}
    if out is not None:
        folder = Path(out)
        predictor.save(folder, extra=predictor.metadata_)
        write_json_atomic(folder / METRICS_FILE, metrics)
    return TrainResult(predictor, metrics, tuple(archs[:n_train]), tuple(archs[n_train:]))
