"""Exhaustive Search (ES): predict every architecture of a space with a weighted ensemble.

The baseline of AutoBuild's limited-data experiment (Mills et al., CVPR 2024, Sec. 5.3):
predictors trained with MSE only, each weighted by its held-out Spearman, score every
architecture of a space of about 800k architectures, and the top few are evaluated. This
module is the engine; the members come trained (see the ensemble training).

The space is streamed in chunks of consecutive architectures in
:meth:`~autobuild.spaces.SearchSpace.enumerate_architectures` order, encoded once per chunk
with :meth:`~autobuild.encoding.SequenceGraphEncoder.encode_architecture_range` and run
through every member; only a running top-N is kept.

Sharing work between architectures: in a sequence graph, a node's hop-``m`` embedding is a
function of the window of the ``m + 1`` nodes ending at it (the chain fast path of every GNN
layer reads a node and its predecessor only). Architectures of a chunk share most windows,
so each distinct window is computed once per hop and member, and only the readout and head
run per architecture. This is exact up to float rounding (``dedup=False`` runs the plain
forward of :meth:`AutoBuildPredictor.predict_batch` instead).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from autobuild._progress import progress_bar
from autobuild._validation import check_int
from autobuild.encoding import GraphBatch, SequenceGraphEncoder
from autobuild.exceptions import ConfigError, SearchSpaceError
from autobuild.predictor import AutoBuildPredictor
from autobuild.predictor.direction import Direction, check_direction, predictor_direction
from autobuild.predictor.estimator import Head
from autobuild.predictor.nn import AutoBuildNet
from autobuild.spaces import Architecture, SearchSpace

__all__ = ["ExhaustiveResult", "exhaustive_search"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExhaustiveResult:
    """The best architectures of an exhaustive search, best first.

    Attributes:
        archs: The top architectures.
        scores: Their ensemble predictions: the weighted mean of the members' predictions,
            in raw label units.
        spreads: The weighted standard deviation of the members' predictions around
            each score (a disagreement measure, same units).
        n_scored: Number of architectures scored (the size of the space).
        seconds: Wall-clock time of the search.
    """

    archs: tuple[Architecture, ...]
    scores: tuple[float, ...]
    spreads: tuple[float, ...]
    n_scored: int
    seconds: float

    def rows(self, space: SearchSpace) -> list[dict[str, Any]]:
        """One dict per top architecture, for ``top.csv``.

        Keys: ``rank`` (1-based), ``arch_id`` (:meth:`SearchSpace.arch_id`), ``arch`` (the
        JSON form, :meth:`SearchSpace.to_json`), ``prediction`` and ``spread``.
        """
        return [
            {
                "rank": i + 1,
                "arch_id": space.arch_id(a),
                "arch": space.to_json(a),
                "prediction": s,
                "spread": d,
            }
            for i, (a, s, d) in enumerate(zip(self.archs, self.scores, self.spreads, strict=True))
        ]


def exhaustive_search(
    members: Sequence[AutoBuildPredictor],
    weights: Sequence[float],
    *,
    top: int = 4,
    batch_size: int = 16384,
    max_architectures: int = 5_000_000,
    head: Head = "regressor",
    progress: bool = False,
    dedup: bool = True,
    direction: Direction | None = None,
) -> ExhaustiveResult:
    """Score every architecture of the members' space and return the ``top`` best.

    The score of an architecture is ``sum_p w_p * pred_p(arch) / sum_p w_p``, the weighted
    mean of the members' predictions in raw label units; the best are the highest, or the
    lowest for ``direction="min"`` (a latency). Members of weight 0 are skipped. Ties are
    broken by enumeration order (:meth:`SearchSpace.enumerate_architectures`).

    Memory stays bounded by one chunk of ``batch_size`` graphs; torch's thread count is
    whatever the caller set.

    Args:
        members: Fitted predictors of one space, with the sequence graph format.
        weights: One finite weight ``>= 0`` per member, not all 0 (e.g. each member's
            held-out Spearman, negative ones clipped to 0 by the caller).
        top: Number of architectures to return (at most the size of the space).
        batch_size: Architectures per chunk.
        max_architectures: Refuse spaces larger than this.
        head: Prediction head of every member (see :meth:`AutoBuildPredictor.predict`).
        progress: Show a progress bar over architectures (on stderr).
        dedup: Compute each distinct node window of a chunk once (exact; see the module
            docstring). ``False`` runs each member's full forward on every graph.
        direction: ``"max"`` or ``"min"``; default: the direction the members' checkpoints
            declare (:mod:`autobuild.predictor.direction`), ``"max"`` when none does.

    Returns:
        The top architectures with their scores and spreads, best first.

    Raises:
        ConfigError: Invalid members, weights, ``top``, ``batch_size``, ``head`` or
            ``direction``, or members that declare different directions.
        NotFittedError: A member is not fitted.
        SearchSpaceError: The space has more than ``max_architectures`` architectures, or
            interval-valued features.
    """
    start_time = time.perf_counter()
    w = _check_members(members, weights)
    sign = 1.0 if _direction(members, direction) == "max" else -1.0
    for name, value in (("top", top), ("batch_size", batch_size)):
        check_int(name, value, low=1)
    space = members[0].space
    total = space.size()
    if total > max_architectures:
        raise SearchSpaceError(
            f"Space {space.name!r} has {total:,} architectures, more than the exhaustive-search "
            f"limit max_architectures={max_architectures:,}; restrict the space (fewer stages, "
            "layers or values) or raise `max_architectures`."
        )
    top = min(top, total)
    active = [i for i, wi in enumerate(w) if wi > 0]
    models = [members[i] for i in active]
    w_active = w[active]
    w_sum = float(w_active.sum())
    for m in models:
        m.check_head(head)
    encoder = models[0].encoder
    assert isinstance(encoder, SequenceGraphEncoder)  # checked by _check_members
    fast = dedup and head == "regressor"
    hops = max(m.model_.num_layers for m in models)

    best_idx = np.zeros(0, dtype=np.int64)
    best_key = np.zeros(0)
    best_spread = np.zeros(0)
    bar = progress_bar(total, progress, desc="architectures", unit="arch", unit_scale=True)
    for lo in range(0, total, batch_size):
        hi = min(lo + batch_size, total)
        batch = encoder.encode_architecture_range(lo, hi)
        if fast:
            windows = _ChainWindows(batch, hops)
            preds = np.stack([_window_predict(m, batch, windows) for m in models])
        else:
            preds = np.stack([m.predict_batch(batch, head) for m in models])
        score = w_active @ preds / w_sum
        spread = np.sqrt(np.clip(w_active @ (preds - score) ** 2 / w_sum, 0.0, None))
        # The running top-N keeps ``sign * score``, so the best are always the highest.
        key = sign * score
        cand = _top_candidates(key, top)
        best_idx, best_key, best_spread = _merge(
            (best_idx, best_key, best_spread),
            (lo + cand, key[cand], spread[cand]),
            top,
        )
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    archs = tuple(encoder.architecture_at(int(i)) for i in best_idx)
    seconds = time.perf_counter() - start_time
    logger.info(
        "Exhaustive search scored %d architectures of %r with %d members in %.1f s",
        total,
        space.name,
        len(models),
        seconds,
    )
    return ExhaustiveResult(
        archs=archs,
        scores=tuple(float(sign * k) for k in best_key),
        spreads=tuple(float(s) for s in best_spread),
        n_scored=total,
        seconds=seconds,
    )


# ---------------------------------------------------------------------- validation
def _check_members(members: Sequence[AutoBuildPredictor], weights: Sequence[float]) -> np.ndarray:
    if len(members) == 0:
        raise ConfigError("`members` is empty; exhaustive search needs at least one predictor.")
    for i, m in enumerate(members):
        if not isinstance(m, AutoBuildPredictor):
            raise ConfigError(f"Member {i} is a {type(m).__name__}, not an AutoBuildPredictor.")
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"`weights` must be numbers, got {weights!r}.") from err
    if w.shape != (len(members),):
        raise ConfigError(
            f"`weights` must give one number per member ({len(members)}), got shape {w.shape}."
        )
    bad = [i for i, v in enumerate(w) if not math.isfinite(v) or v < 0]
    if bad:
        raise ConfigError(
            f"Weights must be finite and >= 0; members {bad} have weights "
            f"{[float(w[i]) for i in bad]} (clip negative Spearman weights to 0)."
        )
    if not (w > 0).any():
        raise ConfigError(
            f"All {len(w)} weights are 0; at least one member needs a positive weight."
        )
    ref = members[0].space.fingerprint()
    for i, m in enumerate(members):
        if m.config.graph_format != "sequence":
            raise ConfigError(
                f"Member {i} uses graph_format={m.config.graph_format!r}; exhaustive search "
                "needs predictors trained on sequence graphs (graph_format='sequence')."
            )
        if m.space.fingerprint() != ref:
            raise ConfigError(
                f"Member {i} was trained on space {m.space.name!r}, which differs from "
                f"member 0's space {members[0].space.name!r}; every member must share one space."
            )
    return w


def _direction(members: Sequence[AutoBuildPredictor], given: Direction | None) -> Direction:
    """``given``, else the one direction the members declare (``"max"`` if none does)."""
    if given is not None:
        return check_direction(given, "`direction`")
    declared = {predictor_direction(m) for m in members}
    if len(declared) > 1:
        raise ConfigError(
            f"The members declare different directions {sorted(declared)}; train them on one "
            "target with one direction, or pass `direction`."
        )
    return declared.pop()


# ---------------------------------------------------------------------- running top-N
def _top_candidates(score: np.ndarray, top: int) -> np.ndarray:
    """Indices of every entry that can be in the top ``top`` (all ties at the threshold)."""
    key = np.where(np.isnan(score), -np.inf, score)
    if len(key) <= top:
        return np.arange(len(key))
    threshold = np.partition(key, len(key) - top)[len(key) - top]
    return np.flatnonzero(key >= threshold)


def _merge(
    best: tuple[np.ndarray, np.ndarray, np.ndarray],
    new: tuple[np.ndarray, np.ndarray, np.ndarray],
    top: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``top`` best of two candidate sets: highest score first, then lowest index."""
    idx, score, spread = (np.concatenate([a, b]) for a, b in zip(best, new, strict=True))
    key = np.where(np.isnan(score), -np.inf, score)
    order = np.lexsort((idx, -key))[:top]
    return idx[order], score[order], spread[order]


# ---------------------------------------------------------------------- shared windows
class _ChainWindows:
    """The distinct node windows of a chain batch, hop by hop.

    ``D_0(i)`` is node ``i``'s feature row and whether it has a predecessor;
    ``D_m(i) = (D_{m-1}(i - 1) or none, D_0(i))`` covers nodes ``i - m .. i``. Every GNN
    layer's chain fast path makes node ``i``'s hop-``m`` embedding a function of ``D_m(i)``
    (GCN also reads the predecessor's degree, which ``D_0(i - 1)`` holds).

    Attributes:
        first: `U_0` representative node of each distinct (node row, has-predecessor) pair.
        self_idx: Per hop ``m >= 1``: `U_m` index into hop ``m - 1``'s windows of each
            window's suffix (the same node, one hop less).
        prev_idx: Per hop: `U_m` index of the predecessor's hop-``m - 1`` window (0 if none).
        flags: Per hop: `2 U_m x 1` has-predecessor flags of the interleaved
            ``[predecessor, node]`` rows the layers run on.
        node_idx: Per hop ``m >= 0``: `N` index of every node's hop-``m`` window.
    """

    def __init__(self, batch: GraphBatch, hops: int) -> None:
        has_prev = batch.has_prev.numpy()
        node_key = _row_ids(batch.x_cat.numpy(), batch.x_num.numpy())
        w0, first = _factorize(node_key * 2 + has_prev)
        self.first = torch.from_numpy(first)
        self.self_idx: list[Tensor] = []
        self.prev_idx: list[Tensor] = []
        self.flags: list[Tensor] = []
        n0 = int(w0.max()) + 1 if len(w0) else 1
        win = w0
        self.node_idx = [torch.from_numpy(w0)]
        win_has_prev = has_prev[first]  # per distinct window: does its node have a predecessor
        for _ in range(hops):
            prev_win = np.concatenate([[0], win[:-1]])
            pre = np.where(has_prev, prev_win + 1, 0)
            new, rep = _factorize(pre * n0 + w0)
            node_prev = has_prev[rep]
            p_idx = np.where(node_prev, prev_win[rep], 0)
            p_flag = np.where(node_prev, win_has_prev[p_idx], False)
            self.self_idx.append(torch.from_numpy(win[rep]))
            self.prev_idx.append(torch.from_numpy(p_idx))
            flags = np.stack([p_flag, node_prev], axis=1).reshape(-1, 1)
            self.flags.append(torch.from_numpy(flags.astype(np.float32)))
            win, win_has_prev = new, node_prev
            self.node_idx.append(torch.from_numpy(win))
        self.sizes = [len(first)] + [len(s) for s in self.self_idx]


@torch.no_grad()
def _window_predict(
    member: AutoBuildPredictor, batch: GraphBatch, windows: _ChainWindows
) -> np.ndarray:
    """The regressor head's predictions (raw units), computing each window once."""
    model: AutoBuildNet = member.model_
    model.eval()
    x_cat, x_num = batch.x_cat[windows.first], batch.x_num[windows.first]
    h = model.embed(x_cat, x_num)
    hops = [h]
    for i, (conv, norm) in enumerate(zip(model.convs, model.norms, strict=True)):
        node, prev = h[windows.self_idx[i]], h[windows.prev_idx[i]]
        pairs = torch.stack([prev, node], dim=1).reshape(-1, h.shape[1])
        flags = windows.flags[i].to(h.dtype)
        z = model.act(norm(conv(pairs, flags, None)))[1::2]
        h = z + node if model.residual and i > 0 else z
        hops.append(h)

    def pool(hop: int) -> Tensor:
        idx = windows.node_idx[hop]
        if model.readout in ("mean", "sum", "max"):  # gather and pool without an N x d copy
            return F.embedding_bag(idx, hops[hop], batch.ptr[:-1], mode=model.readout)
        return model.pool(hops[hop][idx], batch)

    pooled = pool(model.num_layers)
    pred = model.regressor(model.reg_act(model.post_proj(pooled))).squeeze(-1)
    if model.wide is not None:  # the one-hot term reads whole graphs, not windows
        hop = int(model.wide.hop)
        hop_norm = pool(hop).abs().sum(-1) if float(model.wide.hop_weight) > 0 else None
        pred = model.wide.mix(pred, batch, hop_norm)
    return pred.double().numpy() * member.label_std_ + member.label_mean_


def _row_ids(x_cat: np.ndarray, x_num: np.ndarray) -> np.ndarray:
    """`N` int64 ids, equal exactly for equal node rows (categorical and numeric columns)."""
    cols = [x_cat[:, j] for j in range(x_cat.shape[1])]
    cols += [x_num[:, j].view(np.int32).astype(np.int64) for j in range(x_num.shape[1])]
    key = np.zeros(len(x_cat), dtype=np.int64)
    span = 1
    for col in cols:
        ids, _ = _factorize(col)
        width = int(ids.max()) + 1 if len(ids) else 1
        if span * width >= 2**62:  # keep the combined key within int64
            key, _ = _factorize(key)
            span = int(key.max()) + 1 if len(key) else 1
        key = key * width + ids
        span *= width
    return key


def _factorize(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids ``0..U-1`` of ``key``'s distinct values (in value order) and one index each.

    Small key ranges use a lookup table (linear time); others sort (``np.unique``).
    """
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = int(key.min())
    span = int(key.max()) - low + 1
    if span > max(4 * n, 1 << 16):
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return inverse.reshape(-1).astype(np.int64), first.astype(np.int64)
    shifted = key - low
    seen = np.zeros(span, dtype=bool)
    seen[shifted] = True
    ids = np.cumsum(seen, dtype=np.int64) - 1
    inverse = ids[shifted]
    rep = np.empty(int(ids[-1]) + 1, dtype=np.int64)
    rep[inverse] = np.arange(n, dtype=np.int64)  # any occurrence represents its value
    return inverse, rep
