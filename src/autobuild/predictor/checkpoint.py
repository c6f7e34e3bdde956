"""Checkpoints of a fitted predictor: its state in memory, and the two files of a folder.

A predictor's *state* is ``{"meta": ..., "tensors": ...}``: ``meta`` is the content of
``predictor.json`` (plain JSON values: the space, the config, label statistics, the training
set) and ``tensors`` that of ``model.safetensors`` (the network's state dict). Files are
written atomically and read with safetensors and JSON: nothing is unpickled.
:class:`~autobuild.predictor.AutoBuildPredictor` exposes this as ``to_state``/``from_state``
and ``save``/``load``; ensembles write their members' folders with :func:`write_files`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from autobuild import spaces as spaces_mod
from autobuild._atomic import atomic_path, write_json_atomic
from autobuild._checkpoint import read_index
from autobuild.exceptions import CheckpointError
from autobuild.predictor.config import PredictorConfig
from autobuild.predictor.moments import LabelMoments
from autobuild.spaces import SearchSpace

if TYPE_CHECKING:
    from autobuild.predictor.estimator import AutoBuildPredictor

__all__ = [
    "CHECKPOINT_FORMAT",
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "check_state",
    "predictor_state",
    "read_folder",
    "restore",
    "write_files",
]

CHECKPOINT_FORMAT = "autobuild-predictor/1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "predictor.json"


def predictor_state(pred: AutoBuildPredictor, extra: dict[str, Any] | None) -> dict[str, Any]:
    """The state of a fitted predictor (``extra``: metadata; ``None``: its own)."""
    meta = {
        "format": CHECKPOINT_FORMAT,
        "space": pred.space.to_dict(),
        "config": pred.config.to_dict(),
        "seed": pred.seed_,
        "label_mean": pred.label_mean_,
        "label_std": pred.label_std_,
        "hop_moments": pred.hop_moments_,
        "label_moments": pred.label_moments_.to_json(),
        "encoder": pred.encoder.schema(),
        "n_train": pred.n_train_,
        # The training set, from which label moments and observed values are derived.
        "train_archs": [pred.space.canonical_id(a) for a in pred.train_archs_],
        "train_labels": pred.train_labels_.tolist(),
        "train_seconds": pred.train_seconds_,
        "blend_cv": pred.blend_cv_,
        "extra": pred.metadata_ if extra is None else extra,
    }
    tensors = {
        k: v.detach().clone(memory_format=torch.contiguous_format)
        for k, v in pred.model_.state_dict().items()
    }
    return {"meta": _plain_json(meta), "tensors": tensors}


def check_state(state: Any) -> tuple[Mapping[str, Any], Mapping[str, torch.Tensor]]:
    """``(meta, tensors)`` of a state, or a :class:`CheckpointError` naming what is wrong."""
    meta = state.get("meta") if isinstance(state, Mapping) else None
    tensors = state.get("tensors") if isinstance(state, Mapping) else None
    if not isinstance(meta, Mapping) or not isinstance(tensors, Mapping):
        raise CheckpointError(
            f"A predictor state is a dict with a 'meta' dict and a 'tensors' dict, as "
            f"AutoBuildPredictor.to_state() returns; got {type(state).__name__}"
            + (f" with keys {sorted(map(str, state))}" if isinstance(state, Mapping) else "")
            + "."
        )
    found = meta.get("format")
    if found != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"The predictor state has format {found!r}; this autobuild reads "
            f"{CHECKPOINT_FORMAT!r}."
        )
    return meta, tensors


def write_files(folder: Path, meta: Mapping[str, Any], weights: bytes) -> None:
    """Write a checkpoint folder atomically: ``weights`` (safetensors bytes) and ``meta``."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        tmp.write_bytes(weights)
    write_json_atomic(folder / CONFIG_FILE, meta)


def read_folder(
    folder: Path,
) -> tuple[Mapping[str, Any], Callable[[], Mapping[str, torch.Tensor]]]:
    """A checkpoint folder's metadata and a reader of its weights (errors name the file)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    meta = read_index(meta_path, CHECKPOINT_FORMAT, "a predictor checkpoint")
    if not weights_path.is_file():
        raise CheckpointError(
            f"{str(folder)!r} is not a predictor checkpoint: {weights_path.name} is missing."
        )

    def tensors() -> Mapping[str, torch.Tensor]:
        try:
            return load_file(str(weights_path))
        except (SafetensorError, RuntimeError, OSError) as err:
            raise CheckpointError(f"Cannot load weights {str(weights_path)!r}: {err}") from err

    return meta, tensors


def restore(
    cls: type[AutoBuildPredictor],
    meta: Mapping[str, Any],
    tensors: Callable[[], Mapping[str, torch.Tensor]],
    space: SearchSpace | None,
    *,
    source: str,
    meta_name: str,
    weights_name: str,
) -> AutoBuildPredictor:
    """The predictor of checkpoint metadata and its weights (read when needed); the names
    say in errors where a part came from."""
    try:
        saved_space = spaces_mod.from_spec(meta["space"])
        # Checkpoints written before the wide term existed were trained without it.
        config = PredictorConfig.from_dict({"wide": 0.0, **meta["config"]})
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{meta_name} is corrupt: {err}.") from err
    if space is not None and space.fingerprint() != saved_space.fingerprint():
        raise CheckpointError(
            f"{source} was trained on space {saved_space.name!r}, which "
            f"differs from the given space {space.name!r}; use the space it was trained on."
        )
    pred = cls(space or saved_space, config, random_state=meta.get("seed"))
    model = pred._build_model()
    weights = tensors()
    try:
        model.load_state_dict(weights, strict=True)
    except (RuntimeError, TypeError, ValueError) as err:
        raise CheckpointError(f"Cannot load weights {weights_name}: {err}") from err
    model.eval()
    pred.model_ = model
    try:
        pred.seed_ = int(meta["seed"])
        pred.label_mean_ = float(meta["label_mean"])
        pred.label_std_ = float(meta["label_std"])
        pred.hop_moments_ = [[float(v) for v in row] for row in meta["hop_moments"]]
        pred.n_train_ = int(meta["n_train"])
        pred.train_archs_ = tuple(pred.space.parse(a) for a in meta["train_archs"])
        pred.train_labels_ = np.asarray(meta["train_labels"], dtype=np.float64)
        pred.label_moments_ = LabelMoments.from_json(meta["label_moments"])
        pred.train_seconds_ = float(meta["train_seconds"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{meta_name} is corrupt: {err}.") from err
    if len(pred.train_archs_) != pred.n_train_ or len(pred.train_labels_) != pred.n_train_:
        raise CheckpointError(f"{meta_name} is corrupt: its training set is incomplete.")
    pred.history_ = []
    pred.blend_cv_ = meta.get("blend_cv", {})
    pred.metadata_ = meta.get("extra", {})
    return pred


def _plain_json(obj: Any) -> Any:
    """``obj`` as the plain values that reading it back from a JSON file gives: lists for
    tuples and arrays, string keys, Python numbers, ``None`` for NaN and infinities."""

    def default(value: Any) -> Any:
        if isinstance(value, np.ndarray | np.generic):
            return value.tolist()
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return json.loads(json.dumps(obj, default=default), parse_constant=lambda _: None)
