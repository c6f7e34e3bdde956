"""Predictor ensembles for few labels: k-fold x seeds members with confidence weights.

With a few dozen labelled architectures one predictor's module scores are noisy. Following
the paper's Stable Diffusion experiment (Mills et al., CVPR 2024, Sec. 5.3),
the labelled set is split into ``k`` folds under several shuffling seeds (5 x 4 = 20 members
by default); each member trains with the hop ranking loss on ``k - 1`` folds and is tested on
the held-out one. Its held-out Spearman at hop ``m`` (clipped at 0) is its *confidence* for
subgraphs scored at that hop, and a subgraph's score is the confidence-weighted mean of the
members' scores, with the weighted standard deviation reported as its uncertainty.

An ensemble ranks in one direction (:attr:`PredictorEnsemble.direction`): ``"max"`` unless
its members' checkpoints or its own metadata declare ``"direction": "min"``. It is a
:class:`~autobuild.scoring.Scorer`, so it scores, ranks and re-ranks wherever one predictor
does.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autobuild._atomic import write_json_atomic
from autobuild._checkpoint import read_index
from autobuild.construction import rank_candidates
from autobuild.ensemble.members import MemberResult, MemberTask, fold_tasks, run_tasks
from autobuild.exceptions import CheckpointError, ConfigError, DataError
from autobuild.execution import Executor
from autobuild.predictor import AutoBuildPredictor, PredictorConfig
from autobuild.predictor.checkpoint import CONFIG_FILE, WEIGHTS_FILE, write_files
from autobuild.predictor.direction import Direction, declared_direction
from autobuild.scoring import (
    BuiltArchitecture,
    Head,
    ModuleScores,
    Prediction,
    RerankHead,
    Shift,
    SubgraphScore,
    score_modules,
    with_predictions,
)
from autobuild.spaces import Architecture, SearchSpace, Value

__all__ = [
    "ENSEMBLE_FILE",
    "ENSEMBLE_FORMAT",
    "MEMBER_CORR_LAMBDA",
    "MEMBER_WIDE",
    "PredictorEnsemble",
    "fit_ensemble",
]

logger = logging.getLogger(__name__)

ENSEMBLE_FORMAT = "autobuild-ensemble/1"
ENSEMBLE_FILE = "ensemble.json"
MEMBERS_DIR = "members"

#: Ranking-loss weight of ensemble members when no ``config`` is given. With a few dozen
#: labels per member the predictor default, 5, lets the ranking loss crowd out the
#: regression; weights from 0.5 to 2 build equally well (docs/results/few-labels.md).
MEMBER_CORR_LAMBDA = 1.0
#: Wide-term weight of ensemble members when no ``config`` is given: members are GNNs alone;
#: an ensemble averages its members and weights them by held-out folds, which a per-member
#: stack would duplicate.
MEMBER_WIDE = 0.0


@dataclass(frozen=True)
class PredictorEnsemble:
    """Fitted members with their held-out quality (see :func:`fit_ensemble`).

    An ensemble is a :class:`~autobuild.scoring.Scorer`: module scores, unit scores and
    predictions are its members' confidence-weighted means, with their weighted spread.

    Attributes:
        space: The search space.
        members: The fitted predictors.
        info: Per member: ``fold``, ``shuffle``, ``seed``, held-out ``srcc`` of the
            prediction and ``hop_srcc`` per hop, ``n_train``, ``n_test``, ``train_seconds``.
        metadata: Free JSON metadata (target expression, labelled set, timings; an optional
            ``direction``, see :attr:`direction`).

    Raises:
        ConfigError: No members, one info per member missing, or members (or the
            metadata) that declare different directions.
    """

    space: SearchSpace
    members: tuple[AutoBuildPredictor, ...]
    info: tuple[dict[str, Any], ...]
    metadata: dict[str, Any]

    def __post_init__(self) -> None:
        if not self.members or len(self.members) != len(self.info):
            raise ConfigError("An ensemble needs at least one member and one info per member.")
        self._direction()

    @property
    def direction(self) -> Direction:
        """Whether high (``"max"``) or low (``"min"``) targets are better: the direction
        the members' checkpoints and the ensemble's metadata declare, ``"max"`` when none
        does. Module scores, candidates and re-ranked architectures are ordered best first
        in this direction."""
        return self._direction()

    def _direction(self) -> Direction:
        declared: dict[str, Direction] = {}
        value = declared_direction(self.metadata, "the ensemble metadata")
        if value is not None:
            declared["the ensemble metadata"] = value
        for i, (member, info) in enumerate(zip(self.members, self.info, strict=True)):
            where = f"member {info.get('name') or i + 1}"
            value = declared_direction(getattr(member, "metadata_", None), where)
            if value is not None:
                declared[where] = value
        if len(set(declared.values())) > 1:
            found = ", ".join(f"{where}: {d!r}" for where, d in declared.items())
            raise ConfigError(
                f"An ensemble ranks in one direction, but its parts declare different ones "
                f"({found}); train every member on the same target with the same direction."
            )
        return next(iter(declared.values()), "max")

    def __len__(self) -> int:
        return len(self.members)

    @property
    def hop_weights(self) -> np.ndarray:
        """`P x (M + 1)` confidence weights: held-out hop Spearman, NaN and negatives -> 0."""
        w = np.asarray([[_nan(v) for v in i["hop_srcc"]] for i in self.info])
        return np.clip(np.nan_to_num(w, nan=0.0), 0.0, None)

    @property
    def prediction_weights(self) -> np.ndarray:
        """`P` weights of the members' predictions: held-out Spearman, NaN and negatives -> 0."""
        w = np.asarray([_nan(i["srcc"]) for i in self.info])
        return np.clip(np.nan_to_num(w, nan=0.0), 0.0, None)

    # ------------------------------------------------------------------ predictions
    def predict(self, archs: Sequence[Architecture], head: Head = "regressor") -> Prediction:
        """Weighted mean and weighted spread of the members' predictions.

        Args:
            archs: Architectures of the space.
            head: The members' prediction head (as in
                :meth:`~autobuild.predictor.AutoBuildPredictor.predict`); the members'
                weights are the held-out Spearman of their regressor.

        Returns:
            A :class:`~autobuild.scoring.Prediction`: ``value`` and ``spread``, two `n`
            arrays in label units (it also unpacks as ``(value, spread)``); no hop norms.

        Raises:
            ConfigError: Every member has zero weight (no held-out correlation).
        """
        w = self.prediction_weights
        if w.sum() == 0:
            raise ConfigError(
                "No member has a positive held-out Spearman, so the ensemble has no weights; "
                "label more architectures or check the target."
            )
        preds = np.stack([m.predict(archs, head=head) for m in self.members])  # P x n
        mean, spread = _weighted(preds, w)
        return Prediction(mean, spread)

    # ------------------------------------------------------------------ module scores
    def score_modules(
        self,
        *,
        globals_: Sequence[Value] | None = None,
        shift: Shift = "auto",
        units: Sequence[int] | None = None,
    ) -> ModuleScores:
        """Confidence-weighted module scores of every stage subgraph.

        Each member scores every subgraph (``shift`` as in
        :func:`~autobuild.scoring.score_modules`: ``"eq5"``, the paper's distribution
        shift, ``"additive"``, ``"raw"`` (the paper's literal weighted norms), or
        ``"auto"``, the default, which for an ensemble is ``"eq5"``: the members' confidence
        weights are the held-out Spearman of their hop norms, which Eq. 5 shifts); a
        subgraph scored at hop ``m`` gets the mean of the members' scores weighted by their
        held-out Spearman at hop ``m``, and ``spread`` is the weighted standard deviation.
        Weights are normalised per hop, so subgraphs of different sizes stay on the label
        scale. An empty subgraph uses the members' mean hop weight. The table ranks in the
        ensemble's :attr:`direction`.

        Raises:
            ConfigError: No member has a positive weight at a hop some subgraph needs, or an
                unknown ``shift``.
        """
        if shift == "auto":
            shift = "eq5"
        tables = [
            score_modules(m, globals_=globals_, shift=shift, units=units) for m in self.members
        ]
        first = tables[0]
        weights = self.hop_weights
        scores = np.stack([[r.score for r in t.records] for t in tables])  # P x S
        raws = np.stack([[r.raw for r in t.records] for t in tables])
        hops = np.asarray([r.hop for r in first.records])
        per_hop = weights[:, np.clip(hops, 0, None)]
        w = np.where(hops[None, :] >= 0, per_hop, weights.mean(1)[:, None])
        dead = np.flatnonzero(w.sum(0) == 0)
        if dead.size:
            hop = int(hops[dead[0]])
            raise ConfigError(
                f"No member has a positive held-out Spearman at hop {hop}, so subgraphs of "
                f"{hop + 1} layers cannot be weighted; label more architectures."
            )
        mean, spread = _weighted(scores, w)
        raw, _ = _weighted(raws, w)
        records = tuple(
            SubgraphScore(
                r.unit, r.unit_name, r.n_layers, r.subgraph, r.hop, float(a), float(s), float(d)
            )
            for r, a, s, d in zip(first.records, raw, mean, spread, strict=True)
        )
        return ModuleScores(self.space, records, first.globals, first.shift, self.direction)

    def unit_scores(self, archs: Sequence[Architecture], *, shift: Shift = "auto") -> np.ndarray:
        """`n x U` weighted module scores of the units' subgraphs of ``archs``.

        Architectures with the same global feature values are looked up in one table of
        :meth:`score_modules`.

        Raises:
            ConfigError: As :meth:`score_modules`.
        """
        space = self.space
        archs = [space.validate(a) for a in archs]
        out = np.zeros((len(archs), space.num_units))
        groups: dict[tuple[Value, ...], list[int]] = {}
        for i, a in enumerate(archs):
            groups.setdefault(a.globals, []).append(i)
        for globals_, idx in groups.items():
            table = self.score_modules(globals_=globals_, shift=shift)
            out[idx] = table.unit_scores([archs[i] for i in idx])
        return out

    def rank_candidates(
        self, archs: Sequence[Architecture], *, shift: Shift = "auto"
    ) -> list[BuiltArchitecture]:
        """Rank given architectures by the sum of their units' weighted module scores.

        The same as :func:`autobuild.construction.rank_candidates` of the ensemble: best
        first, the highest sum, or the lowest for :attr:`direction` ``"min"``.
        """
        return rank_candidates(self, archs, shift=shift)

    def rerank(
        self, built: Sequence[BuiltArchitecture], *, head: RerankHead = "auto"
    ) -> list[BuiltArchitecture]:
        """Order built architectures by the ensemble's weighted whole-architecture prediction.

        Like :meth:`PredictorScorer.rerank <autobuild.scoring.PredictorScorer.rerank>` for
        one predictor: the non-additive step after summed stage scores have reduced the
        space; best prediction first (the lowest for :attr:`direction` ``"min"``).
        ``spread`` is the members' weighted spread. ``head`` is as in :meth:`predict`;
        ``"auto"`` (the default) means the regressor, whose held-out Spearman weights the
        members.

        Raises:
            ConfigError: Every member has zero weight (see :meth:`predict`), or a bad head.
        """
        archs = [b.arch for b in built]
        if not archs:
            return []
        prediction = self.predict(archs, head="regressor" if head == "auto" else head)
        return with_predictions(built, prediction.value, prediction.spread, self.direction)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``ensemble.json`` and one checkpoint folder per member under ``members/``."""
        folder = Path(path)
        for member, info in zip(self.members, self.info, strict=True):
            member.save(folder / MEMBERS_DIR / _member_dir(info))
        _write_index(folder, self.space, self.info, self.metadata)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> PredictorEnsemble:
        """Read an ensemble folder written by :func:`fit_ensemble` or :meth:`save`.

        Raises:
            CheckpointError: A missing or corrupt index or member, or members of different
                spaces.
        """
        folder = Path(path)
        index_path = folder / ENSEMBLE_FILE
        index = read_index(index_path, ENSEMBLE_FORMAT, "an ensemble folder")
        try:
            infos = [dict(i) for i in index["members"]]
            members = [
                AutoBuildPredictor.load(folder / MEMBERS_DIR / _member_dir(i)) for i in infos
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{str(index_path)!r} is corrupt: {err}.") from err
        space = members[0].space
        for i, m in zip(infos, members, strict=True):
            if m.space.fingerprint() != space.fingerprint():
                raise CheckpointError(
                    f"Member {_member_dir(i)} of {str(folder)!r} was trained on space "
                    f"{m.space.name!r}, the first member on {space.name!r}."
                )
        return cls(space, tuple(members), tuple(infos), dict(index.get("metadata", {})))


def fit_ensemble(
    space: SearchSpace,
    archs: Sequence[Architecture],
    y: Sequence[float] | np.ndarray,
    *,
    folds: int = 5,
    seeds: Sequence[int] = (0, 1, 2, 3),
    config: PredictorConfig | None = None,
    executor: Executor = "process",
    n_jobs: int | None = None,
    ray_address: str | None = None,
    out: str | Path | None = None,
    metadata: dict[str, Any] | None = None,
    **params: Any,
) -> PredictorEnsemble:
    """Train a k-fold x seeds ensemble of AutoBuild predictors.

    Members are independent, so they train in parallel (``executor``); each trains with one
    thread and its own seed, so the same arguments give the same ensemble on every executor.
    With ``out``, every member is written to ``out/members/`` as soon as it finishes and a
    re-run with the same arguments reuses the members already there (an interrupted run
    resumes).

    Args:
        space: The search space.
        archs: Labelled architectures (e.g. 68).
        y: Their labels (higher is better, unless ``metadata`` holds
            ``"direction": "min"``; or negate "lower is better" metrics in the target
            expression, e.g. ``-fid``).
        folds: Folds per shuffling seed (``k``).
        seeds: Shuffling seeds; ``folds x len(seeds)`` members.
        config: Member hyper-parameters (``None``: the predictor's defaults with
            ``corr_lambda=``:data:`MEMBER_CORR_LAMBDA` and ``wide=``:data:`MEMBER_WIDE`);
            ``corr_lambda=0`` trains MSE-only
            members, as the Exhaustive-Search baseline does.
        executor: ``"process"`` (default), ``"serial"`` or ``"ray"``.
        n_jobs: Local worker processes for ``"process"``.
        ray_address: Ray cluster address for ``"ray"``.
        out: Folder for the ensemble (members and ``ensemble.json``).
        metadata: JSON metadata stored in ``ensemble.json`` (e.g. ``{"direction": "min"}``
            for a latency target; see :attr:`PredictorEnsemble.direction`).
        **params: Overrides of ``config`` fields.

    Returns:
        The fitted :class:`PredictorEnsemble`.

    Raises:
        DataError: Labels that are not one finite number per architecture.
        ConfigError: Bad folds, seeds or executor.
    """
    archs = [space.validate(a) for a in archs]
    y_arr = np.asarray(y, dtype=np.float64)
    if y_arr.shape != (len(archs),) or not np.all(np.isfinite(y_arr)):
        raise DataError(
            f"`y` must hold one finite label per architecture ({len(archs)}), got shape "
            f"{y_arr.shape} with {int((~np.isfinite(y_arr)).sum())} non-finite values."
        )
    base = (
        config
        if config is not None
        else PredictorConfig(corr_lambda=MEMBER_CORR_LAMBDA, wide=MEMBER_WIDE)
    )
    cfg = PredictorConfig.from_dict({**base.to_dict(), **params})
    ids = [space.canonical_id(a) for a in archs]
    tasks = fold_tasks(
        space.to_dict(), ids, y_arr.tolist(), cfg.to_dict(), folds=folds, seeds=list(seeds)
    )
    folder = None if out is None else Path(out)
    done: dict[str, dict[str, Any]] = {}
    if folder is not None:
        done = _finished_members(folder, tasks)
        if done:
            logger.info("Reusing %d finished members in %s", len(done), folder)
    todo = [t for t in tasks if t.name not in done]

    def keep(result: MemberResult) -> None:
        info = _info(result)
        done[result.task.name] = info
        if folder is not None:
            member = folder / MEMBERS_DIR / result.task.name
            write_files(member, result.meta, result.weights)
            write_json_atomic(member / "member.json", info)

    in_memory: dict[str, MemberResult] = {}

    def collect(result: MemberResult) -> None:
        keep(result)
        in_memory[result.task.name] = result

    run_tasks(todo, executor=executor, n_jobs=n_jobs, ray_address=ray_address, on_result=collect)
    infos = tuple(done[t.name] for t in tasks)
    members = tuple(
        _member_from_result(in_memory[t.name], space)
        if t.name in in_memory
        else AutoBuildPredictor.load(folder / MEMBERS_DIR / t.name)  # type: ignore[operator]
        for t in tasks
    )
    meta = {
        **(metadata or {}),
        "folds": folds,
        "seeds": list(seeds),
        "n_labeled": len(archs),
        "config": cfg.to_dict(),
    }
    if folder is not None:
        _write_index(folder, space, infos, meta)
    return PredictorEnsemble(space, members, infos, meta)


# ---------------------------------------------------------------------------- internals
def _weighted(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and standard deviation over axis 0; ``weights`` is `P` or `P x n`."""
    w = weights if weights.ndim == values.ndim else weights[:, None]
    w = np.broadcast_to(w, values.shape)
    total = w.sum(0)
    mean = (w * values).sum(0) / total
    var = (w * (values - mean) ** 2).sum(0) / total
    return mean, np.sqrt(np.maximum(var, 0.0))


def _info(result: MemberResult) -> dict[str, Any]:
    t = result.task
    return {
        "fold": t.fold,
        "shuffle": t.shuffle,
        "seed": t.seed,
        "name": t.name,
        "task": _task_digest(t),
        **{k: _finite_or_none(v) for k, v in result.metrics.items()},
    }


def _task_digest(task: MemberTask) -> str:
    """A fingerprint of everything a member's result depends on (data, folds, config)."""
    import dataclasses
    import hashlib

    text = json.dumps(dataclasses.asdict(task), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def _finite_or_none(v: Any) -> Any:
    """JSON has no NaN: an undefined correlation is stored as null (weight 0)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [_finite_or_none(x) for x in v]
    return v


def _member_dir(info: dict[str, Any]) -> str:
    return str(info.get("name") or f"s{info['shuffle']}_f{info['fold']}")


def _member_from_result(result: MemberResult, space: SearchSpace) -> AutoBuildPredictor:
    return AutoBuildPredictor.from_state(result.state(), space)


def _finished_members(folder: Path, tasks: Sequence[MemberTask]) -> dict[str, dict[str, Any]]:
    """Members of an earlier run of exactly the same task (same data, folds, config, seed)."""
    done: dict[str, dict[str, Any]] = {}
    for t in tasks:
        member = folder / MEMBERS_DIR / t.name
        try:
            info = json.loads((member / "member.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue
        files = (member / WEIGHTS_FILE).is_file() and (member / CONFIG_FILE).is_file()
        if files and isinstance(info, dict) and info.get("task") == _task_digest(t):
            done[t.name] = info
    return done


def _write_index(
    folder: Path, space: SearchSpace, infos: Sequence[dict[str, Any]], meta: dict[str, Any]
) -> None:
    write_json_atomic(
        folder / ENSEMBLE_FILE,
        {
            "format": ENSEMBLE_FORMAT,
            "space": space.name,
            "members": list(infos),
            "metadata": meta,
        },
    )
