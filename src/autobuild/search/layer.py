"""Layer-level genomes for the ``layer-full`` and ``layer-insight`` baselines.

An architecture is encoded as one fixed-length integer block per stage: its depth, then one
index per possible position into the layers allowed there (positions past the depth are
padding and ignored). The mutator works on the decoded layers:

* every stage is selected with its probability (default 0.5); if none is, the selection is
  drawn again (so at least one stage mutates);
* for each selected stage one *valid* operation is picked uniformly: **add** a random allowed
  layer at a random position (not at the maximum depth), **remove** a random layer (not at
  the minimum depth) or **swap** one layer for a different choice allowed at its position.
  Positions whose layers would become invalid when the others shift (e.g. a ``first_layer``
  override such as NAS-Bench-Macro's ``proj`` moving away from position 0) are not offered.

The initial population draws each stage's depth uniformly in ``[min, max]`` and each layer
uniformly over its position's choices (not uniform over architectures, as in the reference).

``layer-insight`` restricts the allowed layer values and the maximum depth per stage (and
optionally the stage's mutation probability), e.g.
``{"s1": {"max_layers": 3, "layer": {"op": ["mb6_k5"]}, "mutation_prob": 0.25}}``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from autobuild.exceptions import ConfigError, SearchSpaceError
from autobuild.spaces import Layer, SearchSpace, StageConfig

__all__ = ["LayerGenome", "check_insight"]

#: Random genomes drawn per wanted initial architecture before the search falls back.
_TRIES_PER_SAMPLE = 50
#: Redraws of the stage selection before one stage is picked uniformly.
_SELECTION_TRIES = 100
_INSIGHT_KEYS = ("max_layers", "layer", "mutation_prob")


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def check_insight(space: SearchSpace, insight: Any) -> dict[str, dict[str, Any]]:
    """Validate per-stage ``layer-insight`` restrictions against ``space``.

    Args:
        space: The search space.
        insight: ``{stage_name: {"max_layers": int, "layer": {feature: [values]},
            "mutation_prob": float}}``; every key is optional and stages not named are
            unrestricted.

    Returns:
        The restrictions with values checked (a normalised copy).

    Raises:
        ConfigError: An unknown stage, key or feature, a value the stage does not offer, a
            ``max_layers`` outside the stage's ``[min_layers, max_layers]`` or a bad
            probability; the message names the stage, the value and the allowed ones.
    """
    if not isinstance(insight, Mapping) or not insight:
        raise ConfigError(
            "`insight` must be a non-empty mapping of stage name to restrictions, e.g. "
            '{"s1": {"max_layers": 3, "layer": {"op": ["mb6_k5"]}}}; '
            f"got {insight!r}."
        )
    names = [st.name for st in space.stages]
    out: dict[str, dict[str, Any]] = {}
    for stage_name, spec in insight.items():
        if stage_name not in names:
            raise ConfigError(
                f"`insight` names unknown stage {stage_name!r}; the stages of space "
                f"{space.name!r} are {names}."
            )
        stage = space.stages[names.index(stage_name)]
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"`insight` for stage {stage_name!r} must be a mapping with keys "
                f"{list(_INSIGHT_KEYS)}, got {spec!r}."
            )
        unknown = [k for k in spec if k not in _INSIGHT_KEYS]
        if unknown:
            raise ConfigError(
                f"`insight` for stage {stage_name!r} has unknown key(s) {unknown}; allowed: "
                f"{list(_INSIGHT_KEYS)}."
            )
        clean: dict[str, Any] = {}
        if "max_layers" in spec:
            m = spec["max_layers"]
            if (
                isinstance(m, bool)
                or not isinstance(m, int)
                or not max(stage.min_layers, 1) <= m <= stage.max_layers
            ):
                raise ConfigError(
                    f"`insight` max_layers of stage {stage_name!r} is {m!r}; it must be an "
                    f"integer in [{max(stage.min_layers, 1)}, {stage.max_layers}]."
                )
            clean["max_layers"] = m
        if "mutation_prob" in spec:
            p = spec["mutation_prob"]
            if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 < p <= 1.0:
                raise ConfigError(
                    f"`insight` mutation_prob of stage {stage_name!r} is {p!r}; it must be a "
                    "number in (0, 1]."
                )
            clean["mutation_prob"] = float(p)
        if "layer" in spec:
            clean["layer"] = _check_layer_values(space, stage_name, spec["layer"])
        out[str(stage_name)] = clean
    return out


def _check_layer_values(space: SearchSpace, stage_name: str, spec: Any) -> dict[str, list[Any]]:
    stage = next(st for st in space.stages if st.name == stage_name)
    features = list(space.layer_feature_names)
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(
            f"`insight` layer of stage {stage_name!r} must map feature names {features} to "
            f"lists of allowed values, got {spec!r}."
        )
    out: dict[str, list[Any]] = {}
    for feat, values in spec.items():
        if feat not in features:
            raise ConfigError(
                f"`insight` layer of stage {stage_name!r} names unknown feature {feat!r}; "
                f"the layer features are {features}."
            )
        offered: list[Any] = []
        for decl in (stage.layer, stage.first_layer or ()):
            for f in decl:
                if f.name == feat:
                    if f.values is None:
                        raise ConfigError(
                            f"Feature {feat!r} of stage {stage_name!r} is an interval; "
                            "`insight` can only restrict listed values."
                        )
                    offered.extend(v for v in f.values if v not in offered)
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise ConfigError(
                f"`insight` layer {feat!r} of stage {stage_name!r} must be a non-empty list "
                f"of values among {offered}, got {values!r}."
            )
        for v in values:
            if v not in offered:
                raise ConfigError(
                    f"`insight` allows value {v!r} of feature {feat!r} in stage "
                    f"{stage_name!r}, but the stage offers only {offered}."
                )
        out[str(feat)] = list(values)
    return out


class LayerGenome:
    """Depth plus one choice index per position for every stage; layer-level mutation.

    Args:
        space: The search space (its layer features must be enumerable).
        mutation_prob: Default probability that a stage is selected for mutation.
        insight: Restrictions already checked by :func:`check_insight` (``None``: the whole
            space, ``layer-full``).

    Raises:
        ConfigError: A layer feature is an interval, or the restrictions leave a position
            below the stage's depth without an allowed layer.
    """

    def __init__(
        self,
        space: SearchSpace,
        mutation_prob: float = 0.5,
        insight: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        features = list(space.layer_feature_names)
        restrictions = dict(insight or {})
        self.method = "layer-full" if insight is None else "layer-insight"
        self.min_layers: list[int] = []
        self.max_layers: list[int] = []
        self.allowed: list[list[list[Layer]]] = []
        self.probs = np.full(space.num_stages, float(mutation_prob))
        for s, stage in enumerate(space.stages):
            spec = restrictions.get(stage.name, {})
            top = int(spec.get("max_layers", stage.max_layers))
            values = spec.get("layer", {})
            per_pos: list[list[Layer]] = []
            for pos in range(top):
                try:
                    choices = stage.choices_at(pos)
                except SearchSpaceError as exc:
                    raise ConfigError(
                        f"Layer-level search needs enumerable layer features: {exc}"
                    ) from exc
                kept = [
                    c
                    for c in choices
                    if all(c[features.index(f)] in vals for f, vals in values.items())
                ]
                if not kept:
                    raise ConfigError(
                        f"`insight` for stage {stage.name!r} leaves no layer at position {pos} "
                        f"(allowed there: {[list(c) for c in choices]}); set max_layers <= "
                        f"{pos} or allow more values."
                    )
                per_pos.append(kept)
            self.min_layers.append(stage.min_layers)
            self.max_layers.append(top)
            self.allowed.append(per_pos)
            if "mutation_prob" in spec:
                self.probs[s] = float(spec["mutation_prob"])
        self._index = [[{c: i for i, c in enumerate(p)} for p in st] for st in self.allowed]
        self.offsets = np.cumsum([0] + [1 + m for m in self.max_layers])
        self.n_var = int(self.offsets[-1])
        self.xl = np.zeros(self.n_var)
        self.xu = np.zeros(self.n_var)
        for s, per_pos in enumerate(self.allowed):
            o = int(self.offsets[s])
            self.xl[o] = self.min_layers[s]
            self.xu[o] = self.max_layers[s]
            for p, choices in enumerate(per_pos):
                self.xu[o + 1 + p] = len(choices) - 1

    # ------------------------------------------------------------------ encoding

    @property
    def n_genomes(self) -> int:
        """Number of distinct architectures the genome can name."""
        total = 1
        for s, per_pos in enumerate(self.allowed):
            total *= sum(
                math.prod(len(per_pos[p]) for p in range(d))
                for d in range(self.min_layers[s], self.max_layers[s] + 1)
            )
        return total

    def decode(self, genome: tuple[int, ...]) -> tuple[StageConfig, ...]:
        """The layers of every stage."""
        out: list[StageConfig] = []
        for s, per_pos in enumerate(self.allowed):
            o = int(self.offsets[s])
            depth = int(genome[o])
            out.append(tuple(per_pos[p][int(genome[o + 1 + p])] for p in range(depth)))
        return tuple(out)

    def encode(self, stages: Sequence[StageConfig]) -> np.ndarray:
        """The genome of per-stage layers (padding positions are 0).

        Raises:
            ConfigError: A stage's depth or a layer is not allowed.
        """
        g = np.zeros(self.n_var, dtype=np.int64)
        for s, layers in enumerate(stages):
            if not self.min_layers[s] <= len(layers) <= self.max_layers[s]:
                raise ConfigError(
                    f"Stage {s} has {len(layers)} layers, outside "
                    f"[{self.min_layers[s]}, {self.max_layers[s]}]."
                )
            o = int(self.offsets[s])
            g[o] = len(layers)
            for p, layer in enumerate(layers):
                idx = self._index[s][p].get(tuple(layer))
                if idx is None:
                    raise ConfigError(
                        f"Layer {layer!r} is not allowed at stage {s}, position {p}."
                    )
                g[o + 1 + p] = idx
        return g

    def every(self) -> np.ndarray:
        """Every genome, stage by stage in depth then choice order."""
        per_stage = []
        for s, per_pos in enumerate(self.allowed):
            configs = []
            for d in range(self.min_layers[s], self.max_layers[s] + 1):
                for idx in itertools.product(*(range(len(per_pos[p])) for p in range(d))):
                    block = np.zeros(1 + self.max_layers[s], dtype=np.int64)
                    block[0] = d
                    block[1 : 1 + d] = idx
                    configs.append(block)
            per_stage.append(configs)
        return np.array([np.concatenate(c) for c in itertools.product(*per_stage)])

    def config(self) -> dict[str, Any]:
        """JSON-able description (part of a stored search's configuration)."""
        return {
            "method": self.method,
            "choices": [
                [[":".join(_fmt(v) for v in c) for c in p] for p in st] for st in self.allowed
            ],
            "min_layers": list(self.min_layers),
            "max_layers": list(self.max_layers),
            "mutation_prob": [float(p) for p in self.probs],
        }

    # ------------------------------------------------------------------ operators

    def random_stage(self, rng: np.random.Generator, s: int) -> StageConfig:
        """A stage of uniform depth whose layers are uniform over their positions' choices."""
        depth = int(rng.integers(self.min_layers[s], self.max_layers[s] + 1))
        per_pos = self.allowed[s]
        return tuple(per_pos[p][int(rng.integers(len(per_pos[p])))] for p in range(depth))

    def random_genome(self, rng: np.random.Generator) -> np.ndarray:
        """One initial-population genome."""
        return self.encode([self.random_stage(rng, s) for s in range(len(self.allowed))])

    def sample(self, rng: np.random.Generator, n: int) -> Iterable[np.ndarray]:
        """A lazy stream of random genomes (the search keeps the first ``n`` new ones)."""
        return (self.random_genome(rng) for _ in range(_TRIES_PER_SAMPLE * n))

    def operations(self, s: int, layers: StageConfig) -> dict[str, list[int]]:
        """The valid operations on stage ``s`` and, for each, its valid positions."""
        ops: dict[str, list[int]] = {}
        n = len(layers)
        if n < self.max_layers[s]:
            pos = [i for i in range(n + 1) if self._shift_ok(s, layers, i, +1)]
            if pos:
                ops["add"] = pos
        if n > self.min_layers[s]:
            pos = [i for i in range(n) if self._shift_ok(s, layers, i, -1)]
            if pos:
                ops["remove"] = pos
        pos = [i for i in range(n) if len(self.allowed[s][i]) > 1]
        if pos:
            ops["swap"] = pos
        return ops

    def _shift_ok(self, s: int, layers: StageConfig, i: int, step: int) -> bool:
        """Whether the layers after position ``i`` stay valid when shifted by ``step``."""
        tail = layers[i:] if step > 0 else layers[i + 1 :]
        start = i + 1 if step > 0 else i
        return all(layer in self._index[s][start + j] for j, layer in enumerate(tail))

    def mutate_stage(self, rng: np.random.Generator, s: int, layers: StageConfig) -> StageConfig:
        """Apply one valid add/remove/swap (picked uniformly) to stage ``s``.

        Returns:
            The new layers (``layers`` unchanged when the stage allows no operation).
        """
        ops = self.operations(s, layers)
        if not ops:
            return layers
        names = sorted(ops)
        op = names[int(rng.integers(len(names)))]
        positions = ops[op]
        i = positions[int(rng.integers(len(positions)))]
        if op == "add":
            choices = self.allowed[s][i]
            return (*layers[:i], choices[int(rng.integers(len(choices)))], *layers[i:])
        if op == "remove":
            return (*layers[:i], *layers[i + 1 :])
        others = [c for c in self.allowed[s][i] if c != layers[i]]
        return (*layers[:i], others[int(rng.integers(len(others)))], *layers[i + 1 :])

    def select(self, rng: np.random.Generator, stages: Sequence[StageConfig]) -> list[int]:
        """Stages to mutate: each with its probability, drawn again until one is chosen."""
        movable = np.array(
            [s for s, layers in enumerate(stages) if self.operations(s, layers)], dtype=np.int64
        )
        if len(movable) == 0:
            return []
        for _ in range(_SELECTION_TRIES):
            chosen = movable[rng.random(len(movable)) < self.probs[movable]]
            if len(chosen):
                return [int(s) for s in chosen]
        return [int(movable[int(rng.integers(len(movable)))])]

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A child whose selected stages each differ from ``genome``'s by one operation."""
        stages = list(self.decode(tuple(int(g) for g in genome)))
        for s in self.select(rng, stages):
            stages[s] = self.mutate_stage(rng, s, stages[s])
        return self.encode(stages)
