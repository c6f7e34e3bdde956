"""FE-MLP feature importance: which feature categories, and which values, drive the label.

Hop 0 of the predictor gives every feature category of a node one non-negative scalar and
is trained so that the norm of their mean ranks architectures like the label. A category's
share of that norm says how much it matters; the scalar of each value says which values the
predictor associates with better architectures (Mills et al., CVPR 2024, Sec. 4). Only
values seen in training are reported (an untrained embedding row means nothing), and numeric
values are fed in the normalisation they were trained with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring.tables import CategoryImportance, FeatureImportance, ValueImportance
from autobuild.spaces import Architecture, NumericFeature, Value

__all__ = ["feature_importance"]


@torch.no_grad()
def feature_importance(
    predictor: AutoBuildPredictor, archs: Sequence[Architecture] | None = None
) -> FeatureImportance:
    """Per-category and per-value importance from the FE-MLP of a fitted predictor.

    Args:
        predictor: A fitted predictor.
        archs: Architectures whose nodes measure the category shares (the training set when
            ``None``). Value scores always cover the values seen in training.

    Returns:
        A :class:`FeatureImportance`; categories sorted by share, values by category then
        score (both descending).
    """
    from autobuild.exceptions import NotFittedError

    if not hasattr(predictor, "model_"):
        raise NotFittedError("Feature importance needs a fitted predictor.")
    enc = predictor.encoder
    fe = predictor.model_.embed
    predictor.model_.eval()
    # Slot columns (``slot_features``) follow the categories: one per layer feature.
    names = list(enc.category_names)
    names += [f"{enc.categorical[k].name} by position" for k in fe.slot_columns]

    batch = enc.encode_batch(list(archs) if archs is not None else list(predictor.train_archs_))
    h0 = fe(batch.x_cat, batch.x_num).double()  # nodes x categories
    total = h0.sum(1, keepdim=True)
    share = torch.where(total > 0, h0 / total.clamp(min=1e-300), torch.zeros_like(h0))
    categories = [
        CategoryImportance(
            name,
            float(share[:, j].mean()),
            float(h0[:, j].mean()),
            float(h0[:, j].std(correction=0)),
        )
        for j, name in enumerate(names)
    ]
    categories.sort(key=lambda c: -c.share)

    train = enc.encode_batch(list(predictor.train_archs_))
    values: list[ValueImportance] = []
    for j, cat in enumerate(enc.categorical):
        counts = torch.bincount(train.x_cat[:, j], minlength=cat.size)
        scores = fe.categorical_scores(j)
        seen = [i for i in range(cat.size) if counts[i] > 0]
        rows = [
            ValueImportance(
                cat.name, _display(cat.name, cat.vocabulary[i]), float(scores[i]), int(counts[i])
            )
            for i in seen
        ]
        values.extend(sorted(rows, key=lambda r: -r.score))
    column = 0
    for j, cat in enumerate(enc.numeric):
        column += cat.width
        if cat.width != 1 or cat.source == "ir":
            continue  # vector categories (IR shapes, attributes) have no per-value scores
        feature = _numeric_feature(predictor, cat.name)
        values_j = train.x_num[:, column - 1].double().numpy()
        normalised, counts_ = np.unique(values_j, return_counts=True)
        scores = fe.numeric_scores(j, torch.from_numpy(normalised).float())
        rows = [
            ValueImportance(cat.name, _denormalise(feature, float(x)), float(s), int(c))
            for x, s, c in zip(normalised, scores, counts_, strict=True)
        ]
        values.extend(sorted(rows, key=lambda r: -r.score))
    return FeatureImportance(tuple(categories), tuple(values))


def _display(category: str, value: Value) -> Value:
    """Stage and layer positions are shown 1-based, like the stage names."""
    return int(value) + 1 if category in ("stage", "layer") else value


def _numeric_feature(predictor: AutoBuildPredictor, name: str) -> NumericFeature:
    space = predictor.space
    for g in space.global_features:
        if g.name == name and isinstance(g, NumericFeature):
            return g
    feature = space.layer_feature(name)
    assert isinstance(feature, NumericFeature)  # the encoder made it a numeric category
    return feature


def _denormalise(feature: NumericFeature, x: float) -> float:
    """Undo the encoder's normalisation (snapped to the declared value it came from)."""
    value = feature.low + x * (feature.high - feature.low)
    if feature.values is not None:
        return min(feature.values, key=lambda v: abs(v - value))
    return float(f"{value:.6g}")
