"""The macro search-space model: stages of variable-length layer sequences."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from autobuild._validation import check_int
from autobuild.exceptions import SearchSpaceError
from autobuild.spaces._declaration import parse_declaration
from autobuild.spaces._features import CategoricalFeature, Feature, NumericFeature, Value
from autobuild.spaces._parsing import parse_architecture
from autobuild.spaces._stage import (
    Architecture,
    Layer,
    Stage,
    StageConfig,
    Subgraph,
    layer_choices,
    num_values,
)

__all__ = [
    "Architecture",
    "Layer",
    "NativeCodec",
    "SearchSpace",
    "Stage",
    "StageConfig",
    "Subgraph",
]

# Node-level categories the encoder adds to every layer; layer features may not use them.
RESERVED_FEATURES = frozenset({"stage", "layer"})
MAX_ENUMERATION = 10_000_000


class NativeCodec(Protocol):
    """Reads and writes a benchmark's own architecture ids (e.g. NAS-Bench-Macro keys)."""

    def decode(self, space: SearchSpace, obj: Any) -> Architecture | None:
        """Return the architecture ``obj`` names, or ``None`` if ``obj`` is not a native id."""

    def encode(self, space: SearchSpace, arch: Architecture) -> str | None:
        """Return the native id of ``arch``, or ``None`` if the benchmark has none."""


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """A macro search space: a fixed sequence of stages of variable-length layer sequences.

    Every layer of every stage picks one value per layer feature (the same feature names
    everywhere; a stage may restrict the values). Global features (e.g. input resolution)
    are picked once per architecture. Stages are grouped into *units*, the blocks that
    AutoBuild scores as subgraphs; by default each stage is its own unit.

    Args:
        name: Space name.
        stages: Stages in network order.
        global_features: Features picked once per architecture.
        units: Groups of consecutive stage indices (0-based) covering all stages in order.
        description: Free text shown by ``autobuild spaces``.
        native: Optional codec for a benchmark's own architecture ids.
        builder: Optional ``builder(space, arch)`` returning the network of a validated
            architecture (see :func:`autobuild.networks.build_model`).

    Example:
        >>> from autobuild.spaces import SearchSpace
        >>> space = SearchSpace.from_dict({
        ...     "name": "tiny", "layer": {"kernel": [3, 5]},
        ...     "stage": [{"min_layers": 1, "max_layers": 2}, {"min_layers": 0, "max_layers": 1}]})
        >>> space.size()
        18
        >>> arch = space.parse([[{"kernel": 3}, {"kernel": 5}], []])
        >>> space.canonical_id(arch)
        '3,5|'
    """

    name: str
    stages: tuple[Stage, ...]
    global_features: tuple[Feature, ...] = ()
    units: tuple[tuple[int, ...], ...] = ()
    description: str = ""
    native: NativeCodec | None = field(default=None, compare=False, repr=False)
    builder: Callable[[SearchSpace, Architecture], Any] | None = field(
        default=None, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.stages:
            raise SearchSpaceError(f"Search space {self.name!r} declares no stages.")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise SearchSpaceError(
                f"Search space {self.name!r} has duplicate stage names {names}."
            )
        feats = [f.name for f in self.stages[0].layer]
        if not feats:
            raise SearchSpaceError(f"Search space {self.name!r} declares no layer features.")
        bad = sorted(RESERVED_FEATURES & set(feats))
        if bad:
            raise SearchSpaceError(
                f"Layer feature name(s) {bad} are reserved for the stage and layer-position "
                "node features; rename them."
            )
        for s in self.stages:
            other = [f.name for f in s.layer]
            if other != feats:
                raise SearchSpaceError(
                    f"Stage {s.name!r} declares layer features {other} but stage "
                    f"{self.stages[0].name!r} declares {feats}; every stage must declare the "
                    "same features in the same order (restrict values, not names)."
                )
            for f in s.layer + (s.first_layer or ()):
                kinds = {g.kind for st in self.stages for g in st.layer if g.name == f.name}
                if len(kinds) > 1 or f.kind not in kinds:
                    raise SearchSpaceError(
                        f"Feature {f.name!r} is categorical in one stage and numeric in "
                        "another; use one type everywhere."
                    )
        gnames = [f.name for f in self.global_features]
        clash = sorted((set(gnames) & set(feats)) | (set(gnames) & RESERVED_FEATURES))
        if len(set(gnames)) != len(gnames) or clash:
            raise SearchSpaceError(
                f"Global feature names {gnames} must be unique and differ from layer features "
                f"and from 'stage'/'layer' (clash: {clash})."
            )
        units = self.units or tuple((i,) for i in range(len(self.stages)))
        flat = [i for u in units for i in u]
        if flat != list(range(len(self.stages))) or any(not u for u in units):
            raise SearchSpaceError(
                f"Units {[list(u) for u in units]} of space {self.name!r} must split the stages "
                f"0..{len(self.stages) - 1} into consecutive, non-empty groups in order."
            )
        object.__setattr__(self, "units", tuple(tuple(u) for u in units))

    # ------------------------------------------------------------------ declaration
    @property
    def layer_feature_names(self) -> tuple[str, ...]:
        """Names of the layer features, in declaration order."""
        return tuple(f.name for f in self.stages[0].layer)

    @property
    def num_stages(self) -> int:
        """Number of stages."""
        return len(self.stages)

    def layer_feature(self, name: str) -> Feature:
        """The union of a layer feature's declarations over all stages and positions.

        Categorical values keep their first-appearance order; numeric bounds are widened.
        """
        decls = [f for s in self.stages for f in s.layer + (s.first_layer or ()) if f.name == name]
        if not decls:
            raise SearchSpaceError(
                f"Unknown layer feature {name!r}; the space declares "
                f"{list(self.layer_feature_names)}."
            )
        if isinstance(decls[0], CategoricalFeature):
            values: list[Value] = []
            for f in decls:
                assert isinstance(f, CategoricalFeature)  # same kind everywhere (validated)
                values += [v for v in f.values if f.coerce(v) is not None and v not in values]
            return CategoricalFeature(name, tuple(values))
        nums = [f for f in decls if isinstance(f, NumericFeature)]
        if all(f.values is not None for f in nums):
            vals = sorted({v for f in nums for v in (f.values or ())})
            return NumericFeature(name, tuple(vals), vals[0], vals[-1])
        return NumericFeature(name, None, min(f.low for f in nums), max(f.high for f in nums))

    @classmethod
    def from_dict(
        cls,
        spec: Mapping[str, Any],
        native: NativeCodec | None = None,
        builder: Callable[[SearchSpace, Architecture], Any] | None = None,
    ) -> SearchSpace:
        """Build a space from its declaration (the schema of the TOML format).

        ``native`` and ``builder`` are passed through to the space (see the class fields).

        Raises:
            SearchSpaceError: If the declaration is malformed; the message names the key.
        """
        return cls(**parse_declaration(spec), native=native, builder=builder)

    def to_dict(self) -> dict[str, Any]:
        """The declaration of this space (round-trips through :meth:`from_dict`)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["stage"] = []
        for s in self.stages:
            st: dict[str, Any] = {
                "name": s.name,
                "min_layers": s.min_layers,
                "max_layers": s.max_layers,
                "layer": {f.name: f.to_spec() for f in s.layer},
            }
            if s.first_layer is not None:
                st["first_layer"] = {f.name: f.to_spec() for f in s.first_layer}
            out["stage"].append(st)
        if self.global_features:
            out["global"] = {f.name: f.to_spec() for f in self.global_features}
        if any(len(u) > 1 for u in self.units):
            out["units"] = [[self.stages[i].name for i in u] for u in self.units]
        return out

    def fingerprint(self) -> str:
        """A stable string identifying the space's declaration (for checkpoints)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def __repr__(self) -> str:
        depths = ", ".join(f"{s.min_layers}-{s.max_layers}" for s in self.stages)
        return (
            f"SearchSpace(name={self.name!r}, stages=[{depths}], "
            f"layer_features={list(self.layer_feature_names)}, "
            f"global_features={[f.name for f in self.global_features]})"
        )

    # ------------------------------------------------------------------ architectures
    def validate(self, arch: Architecture) -> Architecture:
        """Check that ``arch`` belongs to the space and return it with canonical values.

        Raises:
            SearchSpaceError: Naming the stage, layer, feature, value and the allowed values.
        """
        if not isinstance(arch, Architecture):
            raise SearchSpaceError(f"Expected an Architecture, got {type(arch).__name__}.")
        if len(arch.stages) != len(self.stages):
            raise SearchSpaceError(
                f"Architecture has {len(arch.stages)} stages but space {self.name!r} has "
                f"{len(self.stages)} ({', '.join(s.name for s in self.stages)})."
            )
        stages = []
        for si, (stage, layers) in enumerate(zip(self.stages, arch.stages, strict=True)):
            if not stage.min_layers <= len(layers) <= stage.max_layers:
                raise SearchSpaceError(
                    f"Stage {si + 1} ({stage.name!r}) has {len(layers)} layers; space "
                    f"{self.name!r} allows {stage.min_layers} to {stage.max_layers}."
                )
            out_layers = []
            for li, layer in enumerate(layers):
                feats = stage.features_at(li)
                if len(layer) != len(feats):
                    raise SearchSpaceError(
                        f"Stage {si + 1} ({stage.name!r}), layer {li + 1} has {len(layer)} "
                        f"values; expected one per feature {[f.name for f in feats]}."
                    )
                vals = []
                for f, v in zip(feats, layer, strict=True):
                    c = f.coerce(v)
                    if c is None:
                        raise SearchSpaceError(
                            f"Stage {si + 1} ({stage.name!r}), layer {li + 1}: feature "
                            f"{f.name!r} has value {v!r}; allowed values: {f.describe()}."
                        )
                    vals.append(c)
                out_layers.append(tuple(vals))
            stages.append(tuple(out_layers))
        if len(arch.globals) != len(self.global_features):
            raise SearchSpaceError(
                f"Architecture gives {len(arch.globals)} global values; space {self.name!r} "
                f"declares {[f.name for f in self.global_features]}."
            )
        globals_ = []
        for f, v in zip(self.global_features, arch.globals, strict=True):
            c = f.coerce(v)
            if c is None:
                raise SearchSpaceError(
                    f"Global feature {f.name!r} has value {v!r}; allowed values: {f.describe()}."
                )
            globals_.append(c)
        return Architecture(tuple(stages), tuple(globals_))

    def parse(self, obj: Any) -> Architecture:
        """Turn any supported form into a validated :class:`Architecture`.

        Accepted forms: an :class:`Architecture`; the JSON form (a list with one list of
        ``{feature: value}`` objects per stage, or ``{"stages": [...], <global>: value}``),
        as Python objects or as a JSON string; a canonical id (:meth:`canonical_id`); and, for
        built-in benchmark spaces, their native ids.

        Raises:
            SearchSpaceError: If ``obj`` is malformed or outside the space.
        """
        return parse_architecture(self, obj)

    def to_json(self, arch: Architecture) -> Any:
        """The JSON form of ``arch`` (what :meth:`parse` reads and data files hold)."""
        stages = [
            [
                {f.name: v for f, v in zip(st.features_at(i), layer, strict=True)}
                for i, layer in enumerate(layers)
            ]
            for st, layers in zip(self.stages, arch.stages, strict=True)
        ]
        if not self.global_features:
            return stages
        out: dict[str, Any] = {"stages": stages}
        out.update({f.name: v for f, v in zip(self.global_features, arch.globals, strict=True)})
        return out

    def canonical_id(self, arch: Architecture) -> str:
        """A unique, parseable string for ``arch``.

        Layers are ``:``-joined feature values, layers of a stage are ``,``-joined, stages
        ``|``-joined; global values follow ``@``, ``:``-joined.
        """
        body = "|".join(
            ",".join(":".join(_fmt(v) for v in layer) for layer in st) for st in arch.stages
        )
        if arch.globals:
            body += "@" + ":".join(_fmt(v) for v in arch.globals)
        return body

    def arch_id(self, arch: Architecture) -> str:
        """The id shown to users: the native id for benchmark spaces, else the canonical id."""
        if self.native is not None:
            native = self.native.encode(self, arch)
            if native is not None:
                return native
        return self.canonical_id(arch)

    # ------------------------------------------------------------------ counting & sampling
    def stage_count(self, stage: int) -> int:
        """Number of distinct configurations of stage ``stage`` (empty one included)."""
        st = self.stages[stage]
        return sum(st.count(n) for n in range(st.min_layers, st.max_layers + 1))

    def size(self) -> int:
        """Number of distinct architectures (an exact Python int; may be huge).

        Numeric features declared as an interval count as one choice each.
        """
        n = math.prod(self.stage_count(i) for i in range(len(self.stages)))
        return n * math.prod(num_values(f) for f in self.global_features)

    def sample(
        self, n: int, *, seed: int | np.random.Generator | None = None
    ) -> list[Architecture]:
        """Draw ``n`` distinct architectures uniformly at random.

        Each distinct architecture has the same probability (stage depths are drawn in
        proportion to how many configurations they allow). Global features on an interval
        are drawn uniformly from it.

        Args:
            n: Number of architectures (``<= size()``).
            seed: Seed or generator; the same seed gives the same list.

        Raises:
            SearchSpaceError: If ``n`` is negative or larger than the space.
        """
        check_int("n", n, error=SearchSpaceError)
        total = self.size()
        if n > total:
            raise SearchSpaceError(
                f"Cannot draw {n} distinct architectures: space {self.name!r} has only {total}."
            )
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if total <= 4 * n and total <= MAX_ENUMERATION and self._enumerable():
            everything = list(self.enumerate_architectures())
            idx = rng.choice(len(everything), size=n, replace=False)
            return [everything[i] for i in idx]
        seen: set[Architecture] = set()
        out: list[Architecture] = []
        while len(out) < n:
            arch = self._sample_one(rng)
            if arch not in seen:
                seen.add(arch)
                out.append(arch)
        return out

    def enumerate_architectures(self) -> Iterator[Architecture]:
        """Every architecture of the space, in a deterministic order.

        Raises:
            SearchSpaceError: If the space has non-enumerable features or more than
                ten million architectures.
        """
        total = self.size()
        if total > MAX_ENUMERATION or not self._enumerable():
            raise SearchSpaceError(
                f"Space {self.name!r} is too large to enumerate ({total} architectures; the "
                f"limit is {MAX_ENUMERATION}) or has interval-valued features."
            )
        per_stage = [
            [c for n in range(s.min_layers, s.max_layers + 1) for c in s.enumerate(n)]
            for s in self.stages
        ]
        globals_ = [layer_choices((f,), "global") for f in self.global_features]
        for g in itertools.product(*globals_):
            gv = tuple(x[0] for x in g)
            for stages in itertools.product(*per_stage):
                yield Architecture(tuple(stages), gv)

    # ------------------------------------------------------------------ subgraphs
    @property
    def num_units(self) -> int:
        """Number of scoring units (stages, or groups of merged stages)."""
        return len(self.units)

    def unit_name(self, unit: int) -> str:
        """Display name of a unit: its stage names joined by ``+``."""
        return "+".join(self.stages[i].name for i in self._unit(unit))

    def count_subgraphs(self, unit: int | None = None) -> int:
        """Number of non-empty stage subgraphs of one unit, or of all units if ``None``.

        A subgraph of a unit picks one configuration per stage of the unit; the empty
        combination (possible when every stage of the unit allows zero layers) has no node
        to score and is not counted.
        """
        if unit is None:
            return sum(self.count_subgraphs(u) for u in range(self.num_units))
        stages = self._unit(unit)
        total = math.prod(self.stage_count(i) for i in stages)
        if all(self.stages[i].min_layers == 0 for i in stages):
            total -= 1
        return total

    def enumerate_subgraphs(self, unit: int) -> Iterator[Subgraph]:
        """All non-empty stage subgraphs of ``unit``, in a deterministic order.

        Ordered by number of layers of each stage of the unit (shortest first), then by the
        product of the layer choices in declaration order (e.g. expansion-major, then kernel).

        Raises:
            SearchSpaceError: If ``unit`` is out of range or has interval-valued features.
        """
        stages = self._unit(unit)
        for i in stages:
            st = self.stages[i]
            for f in st.layer + (st.first_layer or ()):
                if not f.enumerable:
                    raise SearchSpaceError(
                        f"Cannot enumerate subgraphs of stage {st.name!r}: feature {f.name!r} "
                        "is an interval, not a list of values."
                    )
        lengths = [range(self.stages[i].min_layers, self.stages[i].max_layers + 1) for i in stages]
        for combo in itertools.product(*lengths):
            if sum(combo) == 0:
                continue
            parts = [list(self.stages[i].enumerate(n)) for i, n in zip(stages, combo, strict=True)]
            yield from itertools.product(*parts)

    def unit_subgraph(self, arch: Architecture, unit: int) -> Subgraph:
        """The subgraph of ``arch`` in ``unit``."""
        return tuple(arch.stages[i] for i in self._unit(unit))

    # ------------------------------------------------------------------ internals
    def check_unit(self, unit: int) -> int:
        """Return ``unit`` if it is a valid unit index, else raise :class:`SearchSpaceError`."""
        self._unit(unit)
        return unit

    def _unit(self, unit: int) -> tuple[int, ...]:
        if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < len(self.units):
            raise SearchSpaceError(
                f"Unit {unit!r} is out of range; space {self.name!r} has units "
                f"0..{len(self.units) - 1}."
            )
        return self.units[unit]

    def _enumerable(self) -> bool:
        feats = [f for s in self.stages for f in s.layer + (s.first_layer or ())]
        return all(f.enumerable for f in feats + list(self.global_features))

    def _sample_one(self, rng: np.random.Generator) -> Architecture:
        stages = []
        for st in self.stages:
            lengths = list(range(st.min_layers, st.max_layers + 1))
            weights = np.array([float(st.count(n)) for n in lengths])
            n = lengths[int(rng.choice(len(lengths), p=weights / weights.sum()))]
            stages.append(tuple(tuple(_draw(f, rng) for f in st.features_at(p)) for p in range(n)))
        return Architecture(tuple(stages), tuple(_draw(f, rng) for f in self.global_features))


def _draw(f: Feature, rng: np.random.Generator) -> Value:
    if isinstance(f, CategoricalFeature):
        return f.values[int(rng.integers(len(f.values)))]
    if f.values is not None:
        return f.values[int(rng.integers(len(f.values)))]
    return float(rng.uniform(f.low, f.high))


def _fmt(v: Value) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
