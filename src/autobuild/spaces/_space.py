"""The macro search-space model: stages of variable-length layer sequences."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from autobuild.exceptions import SearchSpaceError
from autobuild.spaces._features import (
    CategoricalFeature,
    Feature,
    NumericFeature,
    Value,
    feature_from_spec,
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

#: One layer: its feature values, in the order of the stage's feature names.
Layer = tuple[Value, ...]
#: The layers of one stage, in network order (may be empty when the stage allows it).
StageConfig = tuple[Layer, ...]
#: A stage subgraph of a unit: one :data:`StageConfig` per stage of the unit.
Subgraph = tuple[StageConfig, ...]

# Node-level categories the encoder adds to every layer; layer features may not use them.
RESERVED_FEATURES = frozenset({"stage", "layer"})
MAX_ENUMERATION = 10_000_000


@dataclass(frozen=True, slots=True)
class Architecture:
    """An architecture of a :class:`SearchSpace`: its layers per stage and global values.

    Instances are immutable and hashable, so they serve as dictionary keys and set members.
    Create them with :meth:`SearchSpace.parse` (which validates), not directly.

    Attributes:
        stages: One tuple of layers per stage; a layer is a tuple of feature values in the
            order of :attr:`SearchSpace.layer_feature_names`.
        globals: Values of the space's global features, in declaration order.
    """

    stages: tuple[StageConfig, ...]
    globals: tuple[Value, ...] = ()

    @property
    def num_layers(self) -> int:
        """Total number of layers (graph nodes)."""
        return sum(len(s) for s in self.stages)

    @property
    def depths(self) -> tuple[int, ...]:
        """Number of layers of each stage."""
        return tuple(len(s) for s in self.stages)


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: a sequence of ``min_layers`` to ``max_layers`` layers.

    Args:
        name: Stage name used in messages and in unit declarations.
        min_layers: Fewest layers (``0`` allows an empty stage).
        max_layers: Most layers.
        layer: Features every layer of the stage picks.
        first_layer: Features of the stage's first layer, if they differ from ``layer``
            (e.g. a strided projection only allowed in that position). Same names as ``layer``.
    """

    name: str
    min_layers: int
    max_layers: int
    layer: tuple[Feature, ...]
    first_layer: tuple[Feature, ...] | None = None

    def __post_init__(self) -> None:
        for key in ("min_layers", "max_layers"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise SearchSpaceError(
                    f"Stage {self.name!r}: `{key}` must be an integer >= 0, got {v!r}."
                )
        if self.min_layers > self.max_layers:
            raise SearchSpaceError(
                f"Stage {self.name!r}: `min_layers <= max_layers` must hold, got "
                f"min_layers={self.min_layers}, max_layers={self.max_layers}."
            )
        if self.max_layers == 0:
            raise SearchSpaceError(
                f"Stage {self.name!r} has max_layers=0; a stage needs room for a layer."
            )
        names = [f.name for f in self.layer]
        if len(set(names)) != len(names):
            raise SearchSpaceError(f"Stage {self.name!r} declares a feature twice: {names}.")
        if self.first_layer is not None and [f.name for f in self.first_layer] != names:
            raise SearchSpaceError(
                f"Stage {self.name!r}: the first layer declares features "
                f"{[f.name for f in self.first_layer]} but the other layers {names}; "
                "declare the same features in the same order."
            )

    def features_at(self, position: int) -> tuple[Feature, ...]:
        """The features of the layer at ``position`` (0-based) within the stage."""
        if position == 0 and self.first_layer is not None:
            return self.first_layer
        return self.layer

    def num_choices(self, position: int) -> int:
        """How many distinct layers position ``position`` allows (enumerable features only)."""
        return math.prod(_num_values(f) for f in self.features_at(position))

    def count(self, length: int) -> int:
        """How many distinct stage configurations have exactly ``length`` layers."""
        if not self.min_layers <= length <= self.max_layers:
            return 0
        return math.prod(self.num_choices(p) for p in range(length))

    def enumerate(self, length: int) -> Iterator[StageConfig]:
        """All configurations with ``length`` layers, in declaration (feature-major) order."""
        if not self.min_layers <= length <= self.max_layers:
            return
        per_position = [_layer_choices(self.features_at(p), self.name) for p in range(length)]
        yield from itertools.product(*per_position)


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
    def from_dict(cls, spec: Mapping[str, Any], native: NativeCodec | None = None) -> SearchSpace:
        """Build a space from its declaration (the schema of the TOML format).

        Raises:
            SearchSpaceError: If the declaration is malformed; the message names the key.
        """
        if not isinstance(spec, Mapping):
            raise SearchSpaceError(f"A space declaration must be a table, got {spec!r}.")
        allowed = {"name", "description", "layer", "global", "stage", "units"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise SearchSpaceError(
                f"Unknown top-level key(s) {unknown} in the space declaration; valid keys: "
                f"{sorted(allowed)}."
            )
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise SearchSpaceError("The space declaration needs a non-empty string `name`.")
        default_layer = _features(spec.get("layer"), "[layer]")
        stage_specs = spec.get("stage")
        if not isinstance(stage_specs, list) or not stage_specs:
            raise SearchSpaceError(
                f"Space {name!r} needs at least one [[stage]] table with min_layers and "
                "max_layers."
            )
        stages = []
        for i, st in enumerate(stage_specs):
            where = f"[[stage]] #{i + 1}"
            if not isinstance(st, Mapping):
                raise SearchSpaceError(f"{where} must be a table, got {st!r}.")
            ok = {"name", "min_layers", "max_layers", "layer", "first_layer"}
            bad = sorted(set(st) - ok)
            if bad:
                raise SearchSpaceError(
                    f"Unknown key(s) {bad} in {where}; valid keys: {sorted(ok)}."
                )
            for key in ("min_layers", "max_layers"):
                if key not in st:
                    raise SearchSpaceError(f"{where} is missing `{key}`.")
            sname = st.get("name", f"stage{i + 1}")
            if not isinstance(sname, str) or not sname:
                raise SearchSpaceError(
                    f"{where}: `name` must be a non-empty string, got {sname!r}."
                )
            layer = default_layer
            if "layer" in st:
                override = {f.name: f for f in _features(st["layer"], f"{where} [stage.layer]")}
                unknown_f = sorted(set(override) - {f.name for f in default_layer})
                if default_layer and unknown_f:
                    raise SearchSpaceError(
                        f"{where} [stage.layer] overrides unknown feature(s) {unknown_f}; "
                        f"[layer] declares {[f.name for f in default_layer]}."
                    )
                layer = tuple(override.get(f.name, f) for f in default_layer) or tuple(
                    override.values()
                )
            first = None
            if "first_layer" in st:
                override = {
                    f.name: f for f in _features(st["first_layer"], f"{where} [stage.first_layer]")
                }
                unknown_f = sorted(set(override) - {f.name for f in layer})
                if unknown_f:
                    raise SearchSpaceError(
                        f"{where} [stage.first_layer] overrides unknown feature(s) {unknown_f}; "
                        f"the stage's layers declare {[f.name for f in layer]}."
                    )
                first = tuple(override.get(f.name, f) for f in layer)
            if not layer:
                raise SearchSpaceError(
                    f"{where} has no layer features: declare a [layer] table or [stage.layer]."
                )
            stages.append(Stage(sname, st["min_layers"], st["max_layers"], layer, first))
        gspec = spec.get("global", {})
        globals_ = _features(gspec, "[global]") if gspec else ()
        units: tuple[tuple[int, ...], ...] = ()
        if "units" in spec:
            units = _parse_units(spec["units"], [s.name for s in stages])
        return cls(
            name=name,
            stages=tuple(stages),
            global_features=globals_,
            units=units,
            description=str(spec.get("description", "")),
            native=native,
        )

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
        if isinstance(obj, Architecture):
            return self.validate(obj)
        if self.native is not None:
            arch = self.native.decode(self, obj)
            if arch is not None:
                return self.validate(arch)
        if isinstance(obj, str):
            text = obj.strip()
            if text[:1] in ("[", "{"):
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as err:
                    raise SearchSpaceError(
                        f"Architecture {_short(text)} is not valid JSON: {err.msg} at "
                        f"position {err.pos}."
                    ) from err
                if self.native is not None:  # a native form written as JSON (e.g. an OFA dict)
                    arch = self.native.decode(self, obj)
                    if arch is not None:
                        return self.validate(arch)
            else:
                return self._parse_canonical(text)
        if isinstance(obj, Mapping):
            return self._parse_mapping(obj)
        if isinstance(obj, list | tuple):
            return self._parse_stage_list(obj, {})
        raise SearchSpaceError(
            f"Cannot read an architecture of space {self.name!r} from {_short(obj)}: expected "
            "a list of stages (each a list of {feature: value} objects), an object "
            '{"stages": [...], ...} or a canonical id string.'
        )

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
        return n * math.prod(_num_values(f) for f in self.global_features)

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
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise SearchSpaceError(f"`n` must be an integer >= 0, got {n!r}.")
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
        globals_ = [_layer_choices((f,), "global") for f in self.global_features]
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

    def _parse_mapping(self, obj: Mapping[str, Any]) -> Architecture:
        if "stages" not in obj:
            raise SearchSpaceError(
                f"Architecture object {_short(obj)} has no 'stages' key; expected "
                '{"stages": [...]'
                + "".join(f', "{f.name}": ...' for f in self.global_features)
                + "}."
            )
        extra = sorted(set(obj) - {"stages"} - {f.name for f in self.global_features})
        if extra:
            raise SearchSpaceError(
                f"Architecture object has unknown key(s) {extra}; space {self.name!r} "
                f"declares global features {[f.name for f in self.global_features]}."
            )
        return self._parse_stage_list(obj["stages"], obj)

    def _parse_stage_list(self, stages: Any, globals_: Mapping[str, Any]) -> Architecture:
        if not isinstance(stages, list | tuple):
            raise SearchSpaceError(f"'stages' must be a list of stages, got {_short(stages)}.")
        if len(stages) != len(self.stages):
            raise SearchSpaceError(
                f"Architecture has {len(stages)} stages but space {self.name!r} has "
                f"{len(self.stages)} ({', '.join(s.name for s in self.stages)})."
            )
        out = []
        for si, (st, layers) in enumerate(zip(self.stages, stages, strict=True)):
            if not isinstance(layers, list | tuple):
                raise SearchSpaceError(
                    f"Stage {si + 1} ({st.name!r}) must be a list of layers, got {_short(layers)}."
                )
            row = []
            for li, layer in enumerate(layers):
                names = [f.name for f in st.features_at(li)]
                if isinstance(layer, Mapping):
                    missing = [k for k in names if k not in layer]
                    extra = sorted(set(layer) - set(names))
                    if missing or extra:
                        raise SearchSpaceError(
                            f"Stage {si + 1} ({st.name!r}), layer {li + 1}: "
                            + (f"missing feature(s) {missing}" if missing else "")
                            + ("; " if missing and extra else "")
                            + (f"unknown feature(s) {extra}" if extra else "")
                            + f"; layers declare {names}."
                        )
                    row.append(tuple(layer[k] for k in names))
                elif isinstance(layer, list | tuple):
                    row.append(tuple(layer))
                elif len(names) == 1 and not isinstance(layer, dict):
                    row.append((layer,))
                else:
                    raise SearchSpaceError(
                        f"Stage {si + 1} ({st.name!r}), layer {li + 1} must be an object "
                        f"{{feature: value}} with features {names}, got {_short(layer)}."
                    )
            out.append(tuple(row))
        gv = []
        for f in self.global_features:
            if f.name in globals_:
                gv.append(globals_[f.name])
            elif isinstance(f, NumericFeature) and f.default is not None:
                gv.append(f.default)
            else:
                raise SearchSpaceError(
                    f"Architecture does not give global feature {f.name!r} and it has no "
                    f'default; use the object form {{"stages": [...], "{f.name}": ...}}.'
                )
        return self.validate(Architecture(tuple(out), tuple(gv)))

    def _parse_canonical(self, text: str) -> Architecture:
        body, _, gpart = text.partition("@")
        parts = body.split("|")
        if len(parts) != len(self.stages):
            raise SearchSpaceError(
                f"Cannot read architecture {_short(text)} for space {self.name!r}: expected a "
                f"canonical id with {len(self.stages)} '|'-separated stages or a JSON list"
                + (" or a native id" if self.native is not None else "")
                + "."
            )
        stages = []
        for si, part in enumerate(parts):
            layers = []
            for li, token in enumerate(part.split(",") if part else []):
                feats = self.stages[si].features_at(li)
                vals = token.split(":")
                if len(vals) != len(feats):
                    raise SearchSpaceError(
                        f"Stage {si + 1}, layer {li + 1} of {_short(text)} has {len(vals)} "
                        f"values; expected {len(feats)} ({[f.name for f in feats]})."
                    )
                layers.append(tuple(vals))
            stages.append(tuple(layers))
        gv: list[Value] = [*gpart.split(":")] if gpart else []
        if not gpart:
            for f in self.global_features:
                if isinstance(f, NumericFeature) and f.default is not None:
                    gv.append(f.default)
        return self.validate(Architecture(tuple(stages), tuple(gv)))


def _features(spec: Any, where: str) -> tuple[Feature, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise SearchSpaceError(f"{where} must be a table of feature = values, got {spec!r}.")
    return tuple(feature_from_spec(k, v, where) for k, v in spec.items())


def _parse_units(spec: Any, stage_names: list[str]) -> tuple[tuple[int, ...], ...]:
    if not isinstance(spec, list) or not all(isinstance(u, list) for u in spec):
        raise SearchSpaceError(
            "`units` must be a list of lists of stage names, e.g. [['s1'], ['s2', 's3']], "
            f"got {spec!r}."
        )
    out = []
    for u in spec:
        idx = []
        for name in u:
            if name not in stage_names:
                raise SearchSpaceError(
                    f"`units` names unknown stage {name!r}; stages are {stage_names}."
                )
            idx.append(stage_names.index(name))
        out.append(tuple(idx))
    return tuple(out)


def _num_values(f: Feature) -> int:
    if isinstance(f, CategoricalFeature):
        return len(f.values)
    return len(f.values) if f.values is not None else 1


def _layer_choices(feats: Sequence[Feature], where: str) -> list[Layer]:
    lists = []
    for f in feats:
        if f.values is not None:  # categorical features always have values
            lists.append(list(f.values))
        else:
            raise SearchSpaceError(
                f"Feature {f.name!r} in {where} is an interval and cannot be enumerated."
            )
    return [tuple(c) for c in itertools.product(*lists)]


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


def _short(obj: Any, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."
