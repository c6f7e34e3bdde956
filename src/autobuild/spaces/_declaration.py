"""Reading a search-space declaration (the schema of the TOML format)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autobuild.exceptions import SearchSpaceError
from autobuild.spaces._features import Feature, feature_from_spec
from autobuild.spaces._stage import Stage

__all__ = ["parse_declaration"]


def parse_declaration(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check a space declaration (the TOML schema) and return ``SearchSpace`` keyword arguments.

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
            f"Space {name!r} needs at least one [[stage]] table with min_layers and max_layers."
        )
    stages = []
    for i, st in enumerate(stage_specs):
        where = f"[[stage]] #{i + 1}"
        if not isinstance(st, Mapping):
            raise SearchSpaceError(f"{where} must be a table, got {st!r}.")
        ok = {"name", "min_layers", "max_layers", "layer", "first_layer"}
        bad = sorted(set(st) - ok)
        if bad:
            raise SearchSpaceError(f"Unknown key(s) {bad} in {where}; valid keys: {sorted(ok)}.")
        for key in ("min_layers", "max_layers"):
            if key not in st:
                raise SearchSpaceError(f"{where} is missing `{key}`.")
        sname = st.get("name", f"stage{i + 1}")
        if not isinstance(sname, str) or not sname:
            raise SearchSpaceError(f"{where}: `name` must be a non-empty string, got {sname!r}.")
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
    return {
        "name": name,
        "stages": tuple(stages),
        "global_features": globals_,
        "units": units,
        "description": str(spec.get("description", "")),
    }


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
