"""Reading architectures from user input: JSON forms, canonical ids and native ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autobuild.exceptions import SearchSpaceError
from autobuild.spaces._features import NumericFeature, Value
from autobuild.spaces._stage import Architecture

if TYPE_CHECKING:
    from autobuild.spaces._space import SearchSpace

__all__ = ["parse_architecture"]


def parse_architecture(space: SearchSpace, obj: Any) -> Architecture:
    """Read ``obj`` as an architecture of ``space`` (see :meth:`SearchSpace.parse`)."""
    if isinstance(obj, Architecture):
        return space.validate(obj)
    if space.native is not None:
        arch = space.native.decode(space, obj)
        if arch is not None:
            return space.validate(arch)
    if isinstance(obj, str):
        text = obj.strip()
        if text[:1] in ("[", "{"):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as err:
                raise SearchSpaceError(
                    f"Architecture {_short_repr(text)} is not valid JSON: {err.msg} at "
                    f"position {err.pos}."
                ) from err
            if space.native is not None:  # a native form written as JSON (e.g. an OFA dict)
                arch = space.native.decode(space, obj)
                if arch is not None:
                    return space.validate(arch)
        else:
            return _parse_canonical(space, text)
    if isinstance(obj, Mapping):
        return _parse_mapping(space, obj)
    if isinstance(obj, list | tuple):
        return _parse_stage_list(space, obj, {})
    raise SearchSpaceError(
        f"Cannot read an architecture of space {space.name!r} from {_short_repr(obj)}: expected "
        "a list of stages (each a list of {feature: value} objects), an object "
        '{"stages": [...], ...} or a canonical id string.'
    )


def _parse_mapping(space: SearchSpace, obj: Mapping[str, Any]) -> Architecture:
    if "stages" not in obj:
        raise SearchSpaceError(
            f"Architecture object {_short_repr(obj)} has no 'stages' key; expected "
            '{"stages": [...]'
            + "".join(f', "{f.name}": ...' for f in space.global_features)
            + "}."
        )
    extra = sorted(set(obj) - {"stages"} - {f.name for f in space.global_features})
    if extra:
        raise SearchSpaceError(
            f"Architecture object has unknown key(s) {extra}; space {space.name!r} "
            f"declares global features {[f.name for f in space.global_features]}."
        )
    return _parse_stage_list(space, obj["stages"], obj)


def _parse_stage_list(
    space: SearchSpace, stages: Any, globals_: Mapping[str, Any]
) -> Architecture:
    if not isinstance(stages, list | tuple):
        raise SearchSpaceError(f"'stages' must be a list of stages, got {_short_repr(stages)}.")
    if len(stages) != len(space.stages):
        raise SearchSpaceError(
            f"Architecture has {len(stages)} stages but space {space.name!r} has "
            f"{len(space.stages)} ({', '.join(s.name for s in space.stages)})."
        )
    out = []
    for si, (st, layers) in enumerate(zip(space.stages, stages, strict=True)):
        if not isinstance(layers, list | tuple):
            raise SearchSpaceError(
                f"Stage {si + 1} ({st.name!r}) must be a list of layers, got "
                f"{_short_repr(layers)}."
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
                    f"{{feature: value}} with features {names}, got {_short_repr(layer)}."
                )
        out.append(tuple(row))
    gv = []
    for f in space.global_features:
        if f.name in globals_:
            gv.append(globals_[f.name])
        elif isinstance(f, NumericFeature) and f.default is not None:
            gv.append(f.default)
        else:
            raise SearchSpaceError(
                f"Architecture does not give global feature {f.name!r} and it has no "
                f'default; use the object form {{"stages": [...], "{f.name}": ...}}.'
            )
    return space.validate(Architecture(tuple(out), tuple(gv)))


def _parse_canonical(space: SearchSpace, text: str) -> Architecture:
    body, _, gpart = text.partition("@")
    parts = body.split("|")
    if len(parts) != len(space.stages):
        raise SearchSpaceError(
            f"Cannot read architecture {_short_repr(text)} for space {space.name!r}: expected a "
            f"canonical id with {len(space.stages)} '|'-separated stages or a JSON list"
            + (" or a native id" if space.native is not None else "")
            + "."
        )
    stages = []
    for si, part in enumerate(parts):
        layers = []
        for li, token in enumerate(part.split(",") if part else []):
            feats = space.stages[si].features_at(li)
            vals = token.split(":")
            if len(vals) != len(feats):
                raise SearchSpaceError(
                    f"Stage {si + 1}, layer {li + 1} of {_short_repr(text)} has {len(vals)} "
                    f"values; expected {len(feats)} ({[f.name for f in feats]})."
                )
            layers.append(tuple(vals))
        stages.append(tuple(layers))
    gv: list[Value] = [*gpart.split(":")] if gpart else []
    if not gpart:
        for f in space.global_features:
            if isinstance(f, NumericFeature) and f.default is not None:
                gv.append(f.default)
    return space.validate(Architecture(tuple(stages), tuple(gv)))


def _short_repr(obj: Any, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."
