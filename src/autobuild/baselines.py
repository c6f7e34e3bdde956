"""Baseline predictors on one-hot architecture features, to judge whether the GNN helps.

Both baselines read the same fixed-length encoding of an architecture
(:class:`OneHotFeatures`): for every stage ``s``, layer position ``p < max_layers`` and
layer feature ``f``, one column per categorical value (1 when the layer at ``(s, p)``
exists and takes that value) or, for a numeric feature, one column with its value scaled
to ``[0, 1]`` by the declared bounds (0 when the layer is absent) plus a presence column for
the position; then one column per possible depth of each stage; then the global features,
one-hot when categorical and scaled when numeric.

:class:`RidgeBaseline` fits a ridge regression with the penalty chosen by leave-one-out
cross-validation; :class:`TreesBaseline` fits gradient-boosted trees. Both follow the
scikit-learn ``fit``/``predict`` convention; scikit-learn is imported on first fit.
:class:`BayesianRidgeBaseline` is the Bayesian counterpart of the ridge: besides a
prediction it gives how uncertain that prediction is (:meth:`BayesianRidgeBaseline.
epistemic_std`), which a study's sampler uses to explore.

Example:
    >>> import numpy as np
    >>> import autobuild as ab
    >>> space = ab.spaces.get("nasbench-macro")
    >>> archs = space.sample(40, seed=0)
    >>> y = np.asarray([a.num_layers for a in archs], dtype=float)
    >>> one_hot_features(space, archs[:2]).shape
    (2, 27)
    >>> scores = evaluate_baselines(space, archs[:30], y[:30], archs[30:], y[30:], seed=0)
    >>> sorted(scores), scores["ridge"] > 0.9
    (['ridge', 'trees'], True)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any, Self

import numpy as np

from autobuild.exceptions import DataError, NotFittedError, SearchSpaceError
from autobuild.metrics import spearman
from autobuild.spaces import Architecture, CategoricalFeature, Feature, SearchSpace

__all__ = [
    "BASELINES",
    "BayesianRidgeBaseline",
    "OneHotBaseline",
    "OneHotFeatures",
    "RidgeBaseline",
    "TreesBaseline",
    "evaluate_baselines",
    "one_hot_features",
]

logger = logging.getLogger(__name__)

#: Ridge penalties tried by leave-one-out cross-validation.
RIDGE_ALPHAS = np.logspace(-3, 3, 13)

# A column plan for one feature: ("cat", {value: column}) or ("num", (column, low, span)).
_Plan = tuple[str, Any]


def _plan(feature: Feature, start: int, names: list[str], prefix: str) -> tuple[_Plan, int]:
    """The columns of one feature, starting at column ``start``; appends their names."""
    if isinstance(feature, CategoricalFeature):
        cols = {v: start + i for i, v in enumerate(feature.values)}
        names += [f"{prefix}{feature.name}={v}" for v in feature.values]
        return ("cat", cols), start + len(cols)
    span = feature.high - feature.low
    names.append(f"{prefix}{feature.name}")
    return ("num", (start, feature.low, span if span > 0 else 1.0)), start + 1


class OneHotFeatures:
    """The one-hot encoding of a space's architectures (see the module docstring).

    Args:
        space: The search space; it fixes the columns.

    Attributes:
        space: The search space.
        names: One readable name per column, e.g. ``"s1.p2.kernel=5"`` or ``"s2.depth=3"``.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        names: list[str] = []
        col = 0
        # positions[s][p] = (presence column or -1, one plan per layer feature)
        self._positions: list[list[tuple[int, list[_Plan]]]] = []
        self._depths: list[dict[int, int]] = []
        for si, stage in enumerate(space.stages):
            per_stage = []
            for p in range(stage.max_layers):
                feats = stage.features_at(p)
                presence = -1
                if any(not isinstance(f, CategoricalFeature) for f in feats):
                    presence = col
                    names.append(f"s{si + 1}.p{p + 1}.present")
                    col += 1
                plans = []
                for f in feats:
                    plan, col = _plan(f, col, names, f"s{si + 1}.p{p + 1}.")
                    plans.append(plan)
                per_stage.append((presence, plans))
            self._positions.append(per_stage)
        for si, stage in enumerate(space.stages):
            depths = range(stage.min_layers, stage.max_layers + 1)
            self._depths.append({d: col + i for i, d in enumerate(depths)})
            names += [f"s{si + 1}.depth={d}" for d in depths]
            col += len(depths)
        self._globals: list[_Plan] = []
        for f in space.global_features:
            plan, col = _plan(f, col, names, "global.")
            self._globals.append(plan)
        self.names: tuple[str, ...] = tuple(names)

    @property
    def num_features(self) -> int:
        """Number of columns ``F``."""
        return len(self.names)

    def transform(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The ``n x F`` float64 feature matrix of ``archs``.

        Raises:
            SearchSpaceError: An architecture outside the space (the message names where).
        """
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        n_stages = len(self._positions)
        for i, arch in enumerate(archs):
            if len(arch.stages) != n_stages or len(arch.globals) != len(self._globals):
                raise SearchSpaceError(
                    f"Architecture {i} has {len(arch.stages)} stages and {len(arch.globals)} "
                    f"global values; space {self.space.name!r} has {n_stages} and "
                    f"{len(self._globals)}. Parse it with `space.parse`."
                )
            for si, layers in enumerate(arch.stages):
                depth_col = self._depths[si].get(len(layers))
                if depth_col is None:
                    raise SearchSpaceError(
                        f"Architecture {i}, stage {si + 1} has {len(layers)} layers; space "
                        f"{self.space.name!r} allows {min(self._depths[si])} to "
                        f"{max(self._depths[si])}."
                    )
                rows.append(i)
                cols.append(depth_col)
                vals.append(1.0)
                for p, layer in enumerate(layers):
                    presence, plans = self._positions[si][p]
                    if presence >= 0:
                        rows.append(i)
                        cols.append(presence)
                        vals.append(1.0)
                    for fi, (plan, v) in enumerate(zip(plans, layer, strict=True)):
                        hit = _column(plan, v)
                        if hit is None:
                            raise _outside(
                                f"Architecture {i}, stage {si + 1}, layer {p + 1}, feature "
                                f"{fi + 1}",
                                plan,
                                v,
                            )
                        rows.append(i)
                        cols.append(hit[0])
                        vals.append(hit[1])
            for gi, (plan, v) in enumerate(zip(self._globals, arch.globals, strict=True)):
                hit = _column(plan, v)
                if hit is None:
                    raise _outside(f"Architecture {i}, global feature {gi + 1}", plan, v)
                rows.append(i)
                cols.append(hit[0])
                vals.append(hit[1])
        out = np.zeros((len(archs), self.num_features), dtype=np.float64)
        out[np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)] = vals
        return out


def _column(plan: _Plan, value: Any) -> tuple[int, float] | None:
    """The column and value ``value`` sets under ``plan``; ``None`` if it is not allowed."""
    kind, spec = plan
    if kind == "cat":
        col = spec.get(value)
        if col is None:  # e.g. "3" read from a CSV cell for a declared 3
            col = next((c for k, c in spec.items() if str(k) == str(value)), None)
        return None if col is None else (col, 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    col, low, span = spec
    return col, (float(value) - low) / span


def _outside(where: str, plan: _Plan, value: Any) -> SearchSpaceError:
    kind, spec = plan
    allowed = list(spec) if kind == "cat" else "a number"
    return SearchSpaceError(
        f"{where} has value {value!r}; allowed: {allowed}. Parse the architecture with "
        "`space.parse`."
    )


def one_hot_features(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """The ``n x F`` float64 one-hot matrix of ``archs`` (see :class:`OneHotFeatures`)."""
    return OneHotFeatures(space).transform(archs)


def _check_labels(archs: Sequence[Architecture], y: Any) -> np.ndarray:
    if len(archs) == 0:
        raise DataError("No architectures to fit a baseline on; pass at least one.")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) != len(archs):
        raise DataError(
            f"Got {len(archs)} architectures but labels of shape {y.shape}; pass one label "
            "per architecture."
        )
    if not np.isfinite(y).all():
        raise DataError(
            f"{int((~np.isfinite(y)).sum())} label(s) are NaN or infinite; drop those rows."
        )
    return y


class OneHotBaseline:
    """A scikit-learn regressor on :class:`OneHotFeatures`; subclasses pick the regressor.

    Args:
        space: The search space.
        random_state: Seed of the regressor.

    Attributes:
        features: The encoding of ``space``.
        model_: The fitted scikit-learn regressor (``None`` before :meth:`fit`).
    """

    def __init__(self, space: SearchSpace, *, random_state: int | None = None) -> None:
        self.space = space
        self.random_state = random_state
        self.features = OneHotFeatures(space)
        self.model_: Any = None

    def _make_model(self) -> Any:
        """A fresh, unfitted scikit-learn regressor."""
        raise NotImplementedError

    def fit(self, archs: Sequence[Architecture], y: Any) -> Self:
        """Fit on ``n`` architectures and their ``n`` labels.

        Raises:
            DataError: No architectures, labels of another length, or non-finite labels.
            SearchSpaceError: An architecture outside the space.
        """
        labels = _check_labels(archs, y)
        model = self._make_model()
        model.fit(self.features.transform(archs), labels)
        self.model_ = model
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The ``n`` predictions for ``archs`` (float64)."""
        if self.model_ is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call `fit` first.")
        if len(archs) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.model_.predict(self.features.transform(archs)), dtype=np.float64)


class RidgeBaseline(OneHotBaseline):
    """Ridge regression on one-hot features, penalty chosen by leave-one-out CV.

    Args:
        space: The search space.
        random_state: Unused (the fit is deterministic); kept for a uniform signature.
    """

    def _make_model(self) -> Any:
        from sklearn.linear_model import RidgeCV

        return RidgeCV(alphas=RIDGE_ALPHAS, fit_intercept=True)


class TreesBaseline(OneHotBaseline):
    """Gradient-boosted regression trees on one-hot features.

    scikit-learn's ``HistGradientBoostingRegressor`` with 300 rounds at learning rate 0.05,
    leaves of at least 5 rows and no early stopping (small labelled sets have no rows to
    spare for a validation split).

    Args:
        space: The search space.
        random_state: Seed of the trees.
    """

    def _make_model(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=300,
            learning_rate=0.05,
            min_samples_leaf=5,
            early_stopping=False,
            random_state=self.random_state,
        )


class BayesianRidgeBaseline(OneHotBaseline):
    """Bayesian ridge regression on one-hot features, with a predictive spread.

    scikit-learn's ``BayesianRidge``: a Gaussian prior on the weights and Gaussian label
    noise, both precisions estimated from the labels by evidence maximisation (MacKay, 1992;
    Bishop, *Pattern Recognition and Machine Learning*, 2006, Sec. 3.5), so the spread needs
    no setting. Not one of :data:`BASELINES`: its predictions are the ridge's, its use is
    :meth:`epistemic_std`.

    Args:
        space: The search space.
        random_state: Unused (the fit is deterministic); kept for a uniform signature.
    """

    def _make_model(self) -> Any:
        from sklearn.linear_model import BayesianRidge

        return BayesianRidge()

    def epistemic_std(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The ``n`` standard deviations of the predicted mean for ``archs`` (label units).

        The posterior spread of the linear function at each architecture, without the label
        noise: ``sqrt(x^T S x)`` for the weights' posterior covariance ``S``. It is small
        for an architecture made of (position, value) pairs the labelled ones pin down and
        grows for pairs they rarely or never showed.
        """
        if self.model_ is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call `fit` first.")
        if len(archs) == 0:
            return np.zeros(0, dtype=np.float64)
        _, std = self.model_.predict(self.features.transform(archs), return_std=True)
        noise = 1.0 / float(self.model_.alpha_)  # the label noise's variance
        return np.sqrt(np.maximum(np.asarray(std, dtype=np.float64) ** 2 - noise, 0.0))


#: The baselines by name.
BASELINES: dict[str, type[OneHotBaseline]] = {"ridge": RidgeBaseline, "trees": TreesBaseline}


def evaluate_baselines(
    space: SearchSpace,
    train_archs: Sequence[Architecture],
    y_train: Any,
    test_archs: Sequence[Architecture],
    y_test: Any,
    *,
    seed: int | None = None,
) -> dict[str, float]:
    """Fit every baseline on the training rows and return its held-out Spearman by name.

    Args:
        space: The search space.
        train_archs: ``n_train`` training architectures.
        y_train: Their ``n_train`` labels.
        test_archs: ``n_test`` held-out architectures.
        y_test: Their ``n_test`` labels.
        seed: Seed passed to each baseline.

    Returns:
        ``{name: spearman}`` for every name of :data:`BASELINES`; NaN when fewer than two
        held-out rows or constant labels or predictions make the correlation undefined.

    Raises:
        DataError: No training rows, or labels whose length differs from the architectures'.
    """
    y_test = np.asarray(y_test, dtype=np.float64)
    if y_test.ndim != 1 or len(y_test) != len(test_archs):
        raise DataError(
            f"Got {len(test_archs)} held-out architectures but labels of shape "
            f"{y_test.shape}; pass one label per architecture."
        )
    out: dict[str, float] = {}
    for name, cls in BASELINES.items():
        start = time.perf_counter()
        model = cls(space, random_state=seed).fit(train_archs, y_train)
        out[name] = spearman(y_test, model.predict(test_archs)) if len(y_test) else math.nan
        logger.info(
            "Baseline %s: held-out Spearman %.4f (%.3f s)",
            name,
            out[name],
            time.perf_counter() - start,
        )
    return out
