"""Hyper-parameters of the AutoBuild predictor and their presets."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

from autobuild._validation import check_bool, check_choice, check_int, check_number
from autobuild.exceptions import ConfigError

__all__ = [
    "ACTIVATION_NAMES",
    "CONV_NAMES",
    "GRAPH_FORMATS",
    "LOSS_MODES",
    "PRESETS",
    "READOUTS",
    "SCHEDULES",
    "ActivationName",
    "ConvName",
    "GraphFormat",
    "LossMode",
    "PredictorConfig",
    "Preset",
    "Readout",
    "Schedule",
]

# The closed choices are named here, without importing torch, so that configurations can be
# validated and the command line can list them cheaply; the modules that implement them
# (``autobuild.predictor.nn``, ``autobuild.predictor.losses``) register one class per name.

#: GNN layer types (:data:`autobuild.predictor.nn.CONVS`).
ConvName = Literal["gatv2", "graph", "gcn", "gin"]
CONV_NAMES: tuple[ConvName, ...] = get_args(ConvName)
#: GNN and regressor activations (:data:`autobuild.predictor.nn.ACTIVATIONS`).
ActivationName = Literal["leaky_relu", "relu"]
ACTIVATION_NAMES: tuple[ActivationName, ...] = get_args(ActivationName)
#: Graph pooling per hop.
Readout = Literal["mean", "sum", "max"]
READOUTS: tuple[Readout, ...] = get_args(Readout)
#: Correlation modes of :class:`~autobuild.predictor.HopRankingLoss`.
LossMode = Literal["spearman", "reference"]
LOSS_MODES: tuple[LossMode, ...] = get_args(LossMode)

#: Learning-rate schedules.
Schedule = Literal["cosine", "constant"]
SCHEDULES: tuple[Schedule, ...] = get_args(Schedule)
#: Graph formats the predictor reads: sequence graphs (one node per layer) or ONNX IR op
#: graphs (one node per primitive op of the exported network; needs a space that builds
#: networks and the ``onnx`` package).
GraphFormat = Literal["sequence", "ir"]
GRAPH_FORMATS: tuple[GraphFormat, ...] = get_args(GraphFormat)


@dataclass(frozen=True, kw_only=True, slots=True)
class PredictorConfig:
    """Every hyper-parameter of :class:`~autobuild.predictor.AutoBuildPredictor`.

    The defaults are the ``"default"`` preset, chosen by measurement on NAS-Bench-Macro
    (``benchmarks/train.py``); ``PRESETS["paper"]`` holds the paper's settings.

    Attributes:
        hidden_channels: GNN width.
        num_layers: GNN layers ``M`` (hops 1..M).
        conv: ``"gatv2"``, ``"graph"``, ``"gcn"`` or ``"gin"``.
        act: ``"relu"`` or ``"leaky_relu"`` (GNN and regressor activation).
        readout: ``"mean"``, ``"sum"`` or ``"max"`` graph pooling per hop.
        embedding_dim: FE-MLP embedding width.
        isolate_embedding: Train the FE-MLP with the hop-0 ranking term only (no gradient
            from the GNN into it); ``False`` is the paper's joint training. Ignored when
            ``corr_lambda`` is 0 (then the FE-MLP learns from the MSE through the GNN).
        corr_lambda: Weight of the hop ranking term (0 trains with MSE only).
        unit_lambda: Weight of the additive unit loss: MSE between the label and the sum of
            the unit head's contributions (0 disables the head).
        rank_mode: ``"spearman"`` (soft ranks of norms vs exact ranks of labels) or
            ``"reference"`` (the authors' Pearson of raw labels and soft ranks).
        regularization_strength: Soft-rank strength (smaller is closer to hard ranks).
        epochs: Passes over the training data; ``None`` picks enough epochs for about
            ``steps`` optimiser steps.
        steps: Target number of optimiser steps when ``epochs`` is ``None``.
        batch_size: Most graphs per step. Small training sets use batches of a quarter of
            the data (at least 16 graphs) so that every epoch takes several steps.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        clip_norm: Global gradient-norm clip (0 disables).
        schedule: ``"cosine"`` decay to 0 over training, or ``"constant"``.
        wide: Weight of the *wide* term in the prediction: a one-hot linear model of
            (stage, position, value) slots, fitted by ridge regression, blended with the GNN
            regressor as ``(1 - w) * gnn + w * wide``. ``"auto"`` chooses ``w`` by 2-fold
            validation on the training labels (about 2/3 of one fit's time), and with it the
            weight of one hop's embedding norm (mapped to labels monotonically) stacked next to
            both; a number in ``[0, 1]`` fixes ``w`` and stacks no hop (0: the GNN alone).
            Sequence graphs only (ignored for IR graphs). Hop norms, module scores and the
            unit head are unaffected.
        slot_features: Give the FE-MLP one more column per categorical layer feature: a
            learned scalar per (stage, position, value), so hop norms can weigh the same
            value differently at different places of the network (sequence graphs only).
        graph_format: ``"sequence"`` (one node per layer) or ``"ir"`` (the network's ONNX
            op graph; the FE-MLP categories are op type, tensor shapes and attributes).
            IR graphs have no stage nodes, so the unit head is off (``unit_lambda`` is
            ignored) and module scoring does not apply.
    """

    hidden_channels: int = 64
    num_layers: int = 4
    conv: ConvName = "gatv2"
    act: ActivationName = "relu"
    readout: Readout = "mean"
    embedding_dim: int = 4
    isolate_embedding: bool = True
    corr_lambda: float = 5.0
    unit_lambda: float = 1.0
    rank_mode: LossMode = "spearman"
    regularization_strength: float = 0.1
    epochs: int | None = None
    steps: int = 700
    batch_size: int = 128
    lr: float = 5e-3
    weight_decay: float = 1e-5
    clip_norm: float = 5.0
    schedule: Schedule = "cosine"
    wide: float | Literal["auto"] = "auto"
    slot_features: bool = False
    graph_format: GraphFormat = "sequence"

    def __post_init__(self) -> None:
        for name in ("hidden_channels", "num_layers", "embedding_dim", "steps"):
            check_int(name, getattr(self, name), low=1)
        if self.epochs is not None:
            check_int("epochs", self.epochs, low=1)
        check_int("batch_size", self.batch_size, low=2)
        for name in ("corr_lambda", "unit_lambda", "weight_decay", "clip_norm"):
            check_number(name, getattr(self, name), low=0)
        for name in ("regularization_strength", "lr"):
            check_number(name, getattr(self, name), low=0, strict=True)
        check_choice("conv", self.conv, CONV_NAMES)
        check_choice("act", self.act, ACTIVATION_NAMES)
        check_choice("readout", self.readout, READOUTS)
        check_choice("rank_mode", self.rank_mode, LOSS_MODES)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("graph_format", self.graph_format, GRAPH_FORMATS)
        for name in ("isolate_embedding", "slot_features"):
            check_bool(name, getattr(self, name))
        wide = self.wide
        if wide != "auto" and not (
            isinstance(wide, int | float) and not isinstance(wide, bool) and 0 <= wide <= 1
        ):
            raise ConfigError(f"`wide` must be 'auto' or a number in [0, 1], got {wide!r}.")

    def schedule_for(self, n_train: int) -> tuple[int, int, int]:
        """``(batch_size, epochs, steps_per_epoch)`` used to train on ``n_train`` graphs.

        A last batch of a single graph is skipped (BatchNorm and correlations need two).
        """
        batch = max(2, min(self.batch_size, n_train, max(16, math.ceil(n_train / 4))))
        full, rest = divmod(n_train, batch)
        per_epoch = full + (1 if rest >= 2 else 0)
        epochs = self.epochs or max(1, math.ceil(self.steps / per_epoch))
        return batch, epochs, per_epoch

    def to_dict(self) -> dict[str, Any]:
        """The hyper-parameters as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> PredictorConfig:
        """Build a config from a dict; unknown keys are an error listing the valid ones."""
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - valid)
        if unknown:
            raise ConfigError(
                f"Unknown predictor parameter(s) {unknown}. Valid parameters: {sorted(valid)}."
            )
        return cls(**params)

    @classmethod
    def preset(cls, name: Preset, **overrides: Any) -> PredictorConfig:
        """A named preset (one of :data:`PRESETS`) with optional overrides."""
        if name not in PRESETS:
            raise ConfigError(f"Unknown preset {name!r}. Choose one of {sorted(PRESETS)}.")
        return cls.from_dict({**PRESETS[name], **overrides})


#: A named hyper-parameter set of :data:`PRESETS`.
Preset = Literal["default", "latency", "paper"]

#: Named hyper-parameter sets. ``paper`` is the authors' training recipe.
#: ``latency`` pools each hop by *sum*, as the authors' latency surrogates do (a network's
#: latency is close to a sum of per-layer costs, so larger networks should have larger
#: norms), and trains for about 4,000 steps; measured on HELP's GPU latencies
#: (``benchmarks/latency.py``, docs/results/latency.md).
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "latency": {"readout": "sum", "steps": 4000},
    "paper": {
        "hidden_channels": 32,
        "corr_lambda": 1.0,
        "epochs": 200,
        "lr": 1e-4,
        "schedule": "constant",
        "rank_mode": "reference",
        "regularization_strength": 1.0,
        "isolate_embedding": False,
        "unit_lambda": 0.0,
    },
}
