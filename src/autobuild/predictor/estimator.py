"""The AutoBuild predictor as a scikit-learn-style estimator, with checkpoints."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch

from autobuild._progress import progress_bar
from autobuild.encoding import GraphBatch, SequenceGraphEncoder
from autobuild.encoding.ir import IRGraphEncoder
from autobuild.exceptions import ConfigError, DataError, NotFittedError
from autobuild.metrics import regression_metrics
from autobuild.predictor._optim import AdamW, cosine_lr
from autobuild.predictor.checkpoint import (
    CHECKPOINT_FORMAT,
    CONFIG_FILE,
    WEIGHTS_FILE,
    check_state,
    predictor_state,
    read_folder,
    restore,
    write_files,
)
from autobuild.predictor.config import PredictorConfig
from autobuild.predictor.losses import HopRankingLoss
from autobuild.predictor.moments import LabelMoments
from autobuild.predictor.nn import AutoBuildNet, WideTerm
from autobuild.predictor.stack import choose_stack, fold_parts
from autobuild.spaces import Architecture, SearchSpace

__all__ = ["CHECKPOINT_FORMAT", "AutoBuildPredictor"]

logger = logging.getLogger(__name__)

#: Held while a model is initialised from torch's global generator (seeded, then restored),
#: so predictors fitted in several threads at once each get their seed's weights.
_INIT_LOCK = threading.Lock()

INFERENCE_BATCH = 4096
#: Fewest labels for which ``wide="auto"`` validates the blend weight (else 0.5).
MIN_BLEND_CV = 20
#: Prediction heads :meth:`AutoBuildPredictor.predict` can read.
Head = Literal["regressor", "gnn", "units", "mean"]
HEADS: tuple[Head, ...] = get_args(Head)

#: The graph encoders a predictor can use (see ``PredictorConfig.graph_format``).
Encoder = SequenceGraphEncoder | IRGraphEncoder

#: ``callback(epoch, predictor)`` runs after every epoch (1-based); return True to stop.
EpochCallback = Callable[[int, "AutoBuildPredictor"], bool | None]


class AutoBuildPredictor:
    """Predicts a target from an architecture; every hop's embedding norm ranks it too.

    Trains :class:`~autobuild.predictor.nn.AutoBuildNet` with MSE on standardised labels plus
    the hop-level ranking loss (Mills et al., CVPR 2024, Eq. 4), so that the L1 norm of the
    graph embedding at each hop is rank-correlated with the label.

    Args:
        space: The search space of the architectures.
        config: Hyper-parameters; ``None`` uses :class:`PredictorConfig` defaults.
        random_state: Seed for weight initialisation and batch order (``None``: fresh).
        progress: Show a progress bar over epochs (on stderr).
        **params: Overrides of individual fields of ``config``.

    Example:
        >>> import autobuild as ab
        >>> space = ab.spaces.get("nasbench-macro")
        >>> archs = space.sample(64, seed=0)
        >>> y = [float(a.num_layers) for a in archs]
        >>> pred = ab.AutoBuildPredictor(space, epochs=2, random_state=0).fit(archs, y)
        >>> pred.predict(archs[:2]).shape
        (2,)
    """

    model_: AutoBuildNet
    seed_: int
    label_mean_: float
    label_std_: float
    hop_moments_: list[list[float]]
    history_: list[dict[str, float]]
    n_train_: int
    train_seconds_: float
    train_archs_: tuple[Architecture, ...]
    train_labels_: np.ndarray
    label_moments_: LabelMoments
    metadata_: dict[str, Any]
    blend_cv_: dict[str, float]

    def __init__(
        self,
        space: SearchSpace,
        config: PredictorConfig | None = None,
        *,
        random_state: int | None = None,
        progress: bool = False,
        **params: Any,
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise ConfigError(f"`space` must be a SearchSpace, got {type(space).__name__}.")
        base = (config or PredictorConfig()).to_dict()
        self.config = PredictorConfig.from_dict({**base, **params})
        self.space = space
        self.random_state = random_state
        self.progress = progress
        self.encoder: Encoder = _make_encoder(space, self.config.graph_format)

    def __repr__(self) -> str:
        return (
            f"AutoBuildPredictor(space={self.space.name!r}, random_state={self.random_state!r}, "
            f"config={self.config!r})"
        )

    # ------------------------------------------------------------------ training
    def fit(
        self,
        archs: Sequence[Architecture],
        y: Sequence[float] | np.ndarray,
        *,
        callback: EpochCallback | None = None,
    ) -> AutoBuildPredictor:
        """Train on architectures and their labels.

        Args:
            archs: Training architectures (validated against the space).
            y: Their labels, in raw units (finite).
            callback: Called after each epoch as ``callback(epoch, self)``; returning
                ``True`` stops training early.

        Returns:
            ``self``, fitted: ``model_``, ``label_mean_``, ``label_std_``, ``hop_moments_``,
            ``history_`` (per-epoch mean loss parts), ``n_train_``, ``train_seconds_``.

        Raises:
            DataError: Too few architectures, non-finite or constant labels.
        """
        cfg = self.config
        archs = [self.space.validate(a) for a in archs]
        y_arr = np.asarray(y, dtype=np.float64)
        if y_arr.ndim != 1 or len(y_arr) != len(archs):
            raise DataError(
                f"`y` must be a 1-D list with one label per architecture, got shape "
                f"{y_arr.shape} for {len(archs)} architectures."
            )
        if len(archs) < 2:
            raise DataError(f"Training needs at least 2 architectures, got {len(archs)}.")
        if not np.all(np.isfinite(y_arr)):
            raise DataError(
                f"{int((~np.isfinite(y_arr)).sum())} labels are NaN or infinite; drop them first."
            )
        std = float(y_arr.std())
        if std == 0.0:
            raise DataError(
                f"All {len(y_arr)} labels equal {y_arr[0]!r}; a predictor needs varying labels."
            )
        seed = self.random_state
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))  # type: ignore[operator]
        self.seed_ = seed
        self.blend_cv_ = {}
        self.label_mean_, self.label_std_ = float(y_arr.mean()), std

        start = time.perf_counter()
        data = self.encoder.encode_batch(archs)
        target = torch.from_numpy((y_arr - self.label_mean_) / std).float()
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model_ = self._build_model()
        stack = (0.0, 0, 0.0)
        if self.model_.wide is not None:
            stack = self._choose_stack(archs, y_arr, data, target, seed)
            self.model_.wide.fit(data, target, stack[0])
        generator = torch.Generator().manual_seed(seed)
        loss_fn = HopRankingLoss(
            corr_lambda=cfg.corr_lambda,
            mode=cfg.rank_mode,
            regularization_strength=cfg.regularization_strength,
        )
        optimizer = AdamW(self.model_.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        n = len(archs)
        batch_size, epochs, steps_per_epoch = cfg.schedule_for(n)
        total_steps = steps_per_epoch * epochs
        step = 0
        self.history_ = []
        callback_seconds = 0.0
        bar = progress_bar(epochs, self.progress, desc="epochs", unit="epoch")
        for epoch in range(1, epochs + 1):
            self.model_.train()
            perm = torch.randperm(n, generator=generator)
            sums = {"loss": 0.0, "mse": 0.0, "rank": 0.0}
            for lo in range(0, n, batch_size):
                idx = perm[lo : lo + batch_size]
                if idx.numel() < 2:  # BatchNorm and correlations need two graphs
                    continue
                batch = data.select(idx)
                pred, hop_norms, contrib = self.model_.forward_with_units(
                    batch, units=self.model_.has_unit_head, wide=False
                )
                loss, parts = loss_fn(pred, target[idx], hop_norms)
                if contrib is not None:
                    unit_mse = torch.nn.functional.mse_loss(contrib.sum(1), target[idx])
                    loss = loss + cfg.unit_lambda * unit_mse
                optimizer.zero_grad()
                loss.backward()
                if cfg.clip_norm > 0:
                    torch.nn.utils.clip_grad_norm_(self.model_.parameters(), cfg.clip_norm)
                if cfg.schedule == "cosine":
                    optimizer.lr = cosine_lr(cfg.lr, step, total_steps)
                optimizer.step()
                step += 1
                sums["loss"] += float(loss.detach())
                sums["mse"] += float(parts["mse"])
                sums["rank"] += float(parts["rank"])
            record = {k: v / steps_per_epoch for k, v in sums.items()}
            self.history_.append({"epoch": epoch, **record})
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss']:.4f}")
            if callback is not None:
                t0 = time.perf_counter()
                stop = callback(epoch, self)
                callback_seconds += time.perf_counter() - t0
                if stop:
                    break
        if bar is not None:
            bar.close()
        self.model_.eval()
        if self.model_.wide is not None and stack[2] > 0:
            blend, hop, hop_weight = stack
            norms = torch.from_numpy(self._forward(archs, "gnn")[1][:, hop])
            self.model_.wide.set_hop(hop, min(1.0, hop_weight / (1.0 - blend)), norms, target)
        self.metadata_ = {}
        self.hop_moments_ = self._hop_moments(data)
        self.n_train_ = n
        self.train_archs_ = tuple(archs)
        self.train_labels_ = y_arr.copy()
        self.label_moments_ = LabelMoments.from_training(self.space, archs, y_arr)
        self.train_seconds_ = time.perf_counter() - start - callback_seconds
        logger.info(
            "Trained on %d architectures for %d epochs in %.1f s",
            n,
            len(self.history_),
            self.train_seconds_,
        )
        return self

    def _choose_stack(
        self,
        archs: list[Architecture],
        y: np.ndarray,
        data: GraphBatch,
        target: torch.Tensor,
        seed: int,
    ) -> tuple[float, int, float]:
        """The stack's weights: the configured ridge weight, or all chosen by 2-fold validation.

        For ``wide="auto"``, each half of the training set is predicted by a GNN trained on
        the other half (a third of the training steps, no wide term), by that GNN's hop
        norms (mapped to labels by a monotone fit on its own half) and by a ridge
        (:func:`~autobuild.predictor.stack.fold_parts`); the weights are then chosen on these
        held-out predictions (:func:`~autobuild.predictor.stack.choose_stack`). Sets
        :attr:`blend_cv_`.

        Returns:
            ``(ridge weight, hop, hop weight)``; the GNN's weight is the rest.
        """
        cfg = self.config
        if cfg.wide != "auto":
            return float(cfg.wide), 0, 0.0
        n = len(archs)
        if n < MIN_BLEND_CV:
            logger.info("Blend weight 0.5: %d labels are too few to validate it", n)
            return 0.5, 0, 0.0
        assert self.model_.wide is not None
        x = self.model_.wide.features(data).double().numpy()
        t = target.double().numpy()
        folds = np.array_split(np.random.default_rng(seed).permutation(n), 2)
        sub = dataclasses.replace(
            cfg,
            wide=0.0,
            steps=max(1, cfg.steps // 3),
            epochs=None if cfg.epochs is None else max(1, cfg.epochs // 3),
        )
        deep, wide = np.empty(n), np.empty(n)
        hops = np.empty((n, self.model_.num_hops))
        for k, (test, train) in enumerate((folds, folds[::-1])):
            gnn = AutoBuildPredictor(self.space, sub, random_state=seed + 1 + k)
            gnn.fit([archs[i] for i in train], y[train])
            p, norms = gnn._forward([archs[i] for i in np.concatenate([test, train])], "gnn")
            deep[test] = (p[: len(test)] - y.mean()) / y.std()
            hops[test], wide[test] = fold_parts(
                norms[len(test) :], norms[: len(test)], x[train], x[test], t[train]
            )
        choice = choose_stack(t, deep, wide, hops)
        self.blend_cv_ = choice.as_dict()
        logger.info(
            "Stack by 2-fold validation: %.1f x GNN + %.1f x ridge + %.1f x hop %d (Spearman "
            "%.4f; GNN alone %.4f, ridge alone %.4f, hop alone %.4f)",
            1 - choice.weight - choice.hop_weight,
            choice.weight,
            choice.hop_weight,
            choice.hop,
            choice.srcc,
            choice.srcc_gnn,
            choice.srcc_wide,
            choice.srcc_hop,
        )
        return choice.weight, choice.hop, choice.hop_weight

    def _build_model(self) -> AutoBuildNet:
        cfg = self.config
        return AutoBuildNet(
            [c.size for c in self.encoder.categorical],
            [c.width for c in self.encoder.numeric],
            hidden_channels=cfg.hidden_channels,
            num_layers=cfg.num_layers,
            conv=cfg.conv,
            act=cfg.act,
            readout=cfg.readout,
            embedding_dim=cfg.embedding_dim,
            # With lambda = 0 nothing but the GNN's gradient would train the FE-MLP.
            isolate_embedding=cfg.isolate_embedding and cfg.corr_lambda > 0,
            unit_max_layers=(
                [sum(self.space.stages[s].max_layers for s in u) for u in self.space.units]
                if cfg.unit_lambda > 0 and cfg.graph_format == "sequence"
                else None
            ),
            slot_columns=(
                [k for k, c in enumerate(self.encoder.categorical) if c.source == "layer"]
                if cfg.slot_features and cfg.graph_format == "sequence"
                else ()
            ),
            wide=(
                WideTerm(
                    self.encoder.categorical,
                    self.encoder.numeric,
                    self.space.num_stages,
                    max(s.max_layers for s in self.space.stages),
                )
                if cfg.wide and cfg.graph_format == "sequence"
                else None
            ),
        )

    @torch.no_grad()
    def _hop_moments(self, data: GraphBatch) -> list[list[float]]:
        """Mean and population std of node-embedding L1 norms per hop (eval mode)."""
        parts = []
        for lo in range(0, data.num_graphs, INFERENCE_BATCH):
            idx = torch.arange(lo, min(lo + INFERENCE_BATCH, data.num_graphs))
            hops = self.model_.node_embeddings(data.select(idx))
            parts.append(torch.stack([h.abs().sum(-1) for h in hops]).double())  # (M+1) x n
        norms = torch.cat(parts, dim=1)
        mean, std = norms.mean(dim=1), norms.std(dim=1, correction=0)
        return [mean.tolist(), std.tolist()]

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This AutoBuildPredictor is not fitted yet; call fit() or load a checkpoint."
            )

    def _check_head(self, head: str) -> bool:
        """Validate ``head``; return whether it reads the additive unit head."""
        if head not in HEADS:
            raise ConfigError(f"`head` must be one of {list(HEADS)}, got {head!r}.")
        units = head in ("units", "mean")
        if units and not self.model_.has_unit_head:
            raise ConfigError(
                f"head={head!r} needs a predictor trained with unit_lambda > 0; "
                "use head='regressor'."
            )
        return units

    @torch.no_grad()
    def _forward_batch(self, batch: GraphBatch, head: str) -> tuple[np.ndarray, np.ndarray]:
        """Predictions (raw units) of ``head`` and `G x (M+1)` hop norms of an encoded batch."""
        self._check_fitted()
        units = self._check_head(head)
        self.model_.eval()
        p, h, contrib = self.model_.forward_with_units(
            batch, units=units, wide=head == "regressor"
        )
        if contrib is not None:
            p = contrib.sum(1) if head == "units" else 0.5 * (p + contrib.sum(1))
        pred = p.double().numpy() * self.label_std_ + self.label_mean_
        return pred, h.T.double().numpy()

    def predict_batch(self, batch: GraphBatch, head: Head = "regressor") -> np.ndarray:
        """Predicted targets in raw label units for an already-encoded batch.

        The fast path for callers that encode many architectures themselves (e.g. with
        :meth:`SequenceGraphEncoder.encode_architecture_range`): no validation or encoding,
        just the network in eval mode without gradients. The graphs run as given: a graph
        that repeats in ``batch`` may get predictions that differ in the last bits, so pass
        each architecture once (:meth:`predict` does this itself).

        Args:
            batch: Full architectures of the space, encoded by :attr:`encoder` (``unit_len``
                is needed by the unit head).
            head: As in :meth:`predict`.

        Returns:
            A `G` array.

        Raises:
            NotFittedError: Before :meth:`fit`.
            ConfigError: An unknown ``head``, or a unit head the predictor was trained without.
        """
        return self._forward_batch(batch, head)[0]

    def _forward(
        self, archs: Sequence[Architecture], head: Head = "regressor"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predictions (raw units) of ``head`` and `n x (M+1)` hop norms of ``archs``.

        Each distinct architecture (after validation, so one network under two ids counts
        once) runs through the network once and its repeats get copies of its values: a
        matrix product may round a row differently depending on the shape of the batch it
        sits in, so running a repeat again could change the last bits of its prediction.
        """
        self._check_fitted()
        self._check_head(head)
        first: dict[Architecture, int] = {}
        where = np.fromiter(
            (first.setdefault(self.space.validate(a), len(first)) for a in archs),
            dtype=np.intp,
            count=len(archs),
        )
        unique = list(first)
        preds, norms = [], []
        for lo in range(0, len(unique), INFERENCE_BATCH):
            chunk = unique[lo : lo + INFERENCE_BATCH]
            p, h = self._forward_batch(self.encoder.encode_batch(chunk), head)
            preds.append(p)
            norms.append(h)
        if not preds:
            return np.zeros(0), np.zeros((0, self.model_.num_hops))
        return np.concatenate(preds)[where], np.concatenate(norms)[where]

    def predict_with_norms(
        self, archs: Sequence[Architecture], head: Head = "regressor"
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` (``(n,)``) and :meth:`hop_norms` (``(n, M + 1)``) in one pass."""
        return self._forward(archs, head)

    @property
    def has_unit_head(self) -> bool:
        """Whether the fitted network has the additive unit head (``unit_lambda > 0``)."""
        self._check_fitted()
        return bool(self.model_.has_unit_head)

    def check_head(self, head: Head) -> bool:
        """Raise :class:`ConfigError` unless the fitted predictor can read ``head`` (or
        :class:`NotFittedError` before :meth:`fit`); return whether it is a unit head."""
        self._check_fitted()
        return self._check_head(head)

    def predict(self, archs: Sequence[Architecture], head: Head = "regressor") -> np.ndarray:
        """Predicted targets in raw label units (an `n` array).

        Each distinct architecture is predicted once, so repeats (also one network under two
        ids, e.g. NAS-Bench-Macro ids that differ only in where the skip layers sit) get
        bitwise-equal predictions wherever they are in ``archs``.

        Args:
            archs: Architectures of the space.
            head: ``"regressor"`` (the prediction: the paper's regressor head on the last
                hop, blended with the wide term when the predictor has one), ``"gnn"`` (the
                GNN's regressor head alone), ``"units"`` (the sum of the additive unit
                head's contributions, i.e. of the module scores) or ``"mean"`` of the GNN's
                two heads, ``"gnn"`` and ``"units"``. The unit head needs
                ``unit_lambda > 0``.
        """
        return self._forward(archs, head)[0]

    def hop_norms(self, archs: Sequence[Architecture]) -> np.ndarray:
        """`n x (M+1)` L1 norms of each architecture's graph embedding at hops 0..M.

        As in :meth:`predict`, repeats of an architecture get bitwise-equal rows.
        """
        return self._forward(archs)[1]

    def evaluate(
        self, archs: Sequence[Architecture], y: Sequence[float] | np.ndarray
    ) -> dict[str, Any]:
        """Spearman, Kendall, MAE (raw units) and per-hop Spearman on labelled data.

        Predictions are made as in :meth:`predict`: repeats of an architecture are scored
        with one prediction (each repeat still counts once in the metrics).
        """
        pred, norms = self._forward(archs)
        return regression_metrics(np.asarray(y, dtype=np.float64), pred, norms)

    # ------------------------------------------------------------------ persistence
    def to_state(self, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The fitted predictor in memory: what :meth:`save` writes, without the files.

        Args:
            extra: JSON-serialisable metadata, as in :meth:`save`; default: the predictor's
                own :attr:`metadata_`.

        Returns:
            ``{"meta": ..., "tensors": ...}``: ``meta`` is the content of ``predictor.json``
            (plain JSON values: lists, string keys, ``None`` for non-finite numbers) and
            ``tensors`` that of ``model.safetensors``, the network's state dict as detached,
            contiguous copies (name -> tensor). :meth:`from_state` reads it back.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        self._check_fitted()
        return predictor_state(self, extra)

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], space: SearchSpace | None = None
    ) -> AutoBuildPredictor:
        """A predictor from the dictionary of :meth:`to_state`, as :meth:`load` reads files.

        Args:
            state: ``{"meta": ..., "tensors": ...}`` from :meth:`to_state`.
            space: If given, the predictor must have been trained on this space.

        Raises:
            CheckpointError: Not a state of :meth:`to_state`, another format version, a
                corrupt state, or one trained on a different space.
        """
        meta, tensors = check_state(state)
        return restore(
            cls,
            meta,
            lambda: tensors,
            space,
            source="The predictor state",
            meta_name="The predictor state",
            weights_name="of the predictor state",
        )

    def save(self, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Write the checkpoint folder: ``model.safetensors`` and ``predictor.json``.

        Both files are written atomically (temporary file, then rename); they hold
        :meth:`to_state`.

        Args:
            path: Folder to create or update.
            extra: JSON-serialisable metadata stored alongside (e.g. target, metrics,
                direction); default: the predictor's own :attr:`metadata_`.
        """
        from safetensors.torch import save

        state = self.to_state(extra=extra)
        folder = Path(path)
        write_files(folder, state["meta"], save(state["tensors"]))
        return folder

    @classmethod
    def load(cls, path: str | Path, space: SearchSpace | None = None) -> AutoBuildPredictor:
        """Read a checkpoint folder written by :meth:`save`.

        The weights are read with safetensors, the metadata as JSON: nothing is unpickled.

        Args:
            path: The checkpoint folder.
            space: If given, the checkpoint must have been trained on this space.

        Raises:
            CheckpointError: Missing or corrupt files, another format version, or a
                checkpoint trained on a different space.
        """
        folder = Path(path)
        meta, tensors = read_folder(folder)
        return restore(
            cls,
            meta,
            tensors,
            space,
            source=f"Checkpoint {str(folder)!r}",
            meta_name=repr(str(folder / CONFIG_FILE)),
            weights_name=repr(str(folder / WEIGHTS_FILE)),
        )


def _make_encoder(space: SearchSpace, graph_format: str) -> Encoder:
    if graph_format == "ir":
        return IRGraphEncoder(space)
    return SequenceGraphEncoder(space)
