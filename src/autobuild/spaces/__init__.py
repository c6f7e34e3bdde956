"""Search spaces: declaration, validation, sampling and stage-subgraph enumeration.

Example:
    >>> import autobuild as ab
    >>> space = ab.spaces.get("ofa-mbv3")
    >>> space.count_subgraphs(0)
    7371
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autobuild.exceptions import SearchSpaceError
from autobuild.spaces._features import CategoricalFeature, Feature, NumericFeature, Value
from autobuild.spaces._space import Architecture, Layer, SearchSpace, Stage, StageConfig, Subgraph
from autobuild.spaces.nasbench_macro import nasbench_macro
from autobuild.spaces.ofa import ofa_mbv3, ofa_pn
from autobuild.spaces.sd_unet import sd_unet

__all__ = [
    "Architecture",
    "CategoricalFeature",
    "Feature",
    "Layer",
    "NumericFeature",
    "SearchSpace",
    "Stage",
    "StageConfig",
    "Subgraph",
    "Value",
    "from_spec",
    "from_toml",
    "get",
    "list_spaces",
]

_BUILTIN: dict[str, Callable[[], SearchSpace]] = {
    "nasbench-macro": nasbench_macro,
    "ofa-mbv3": ofa_mbv3,
    "ofa-pn": ofa_pn,
    "sd-unet": sd_unet,
}


def list_spaces() -> list[str]:
    """Names of the built-in search spaces."""
    return sorted(_BUILTIN)


def from_toml(path: str | Path) -> SearchSpace:
    """Read a search space declared in a TOML file (schema in docs/how-to/declare-space.md).

    Raises:
        SearchSpaceError: If the file cannot be read or the declaration is invalid.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            spec = tomllib.load(fh)
    except FileNotFoundError as err:
        raise SearchSpaceError(f"Search-space file {str(p)!r} does not exist.") from err
    except OSError as err:
        raise SearchSpaceError(
            f"Cannot read search-space file {str(p)!r}: {err.strerror}."
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise SearchSpaceError(f"Search-space file {str(p)!r} is not valid TOML: {err}.") from err
    try:
        return SearchSpace.from_dict(spec)
    except SearchSpaceError as err:
        raise SearchSpaceError(f"{p}: {err}") from err


def from_spec(spec: dict[str, Any]) -> SearchSpace:
    """A space from its declaration (:meth:`SearchSpace.to_dict`, as checkpoints store it).

    The declaration of a built-in space gives that built-in space, which also reads its
    benchmark's native architecture ids; any other is :meth:`SearchSpace.from_dict`.

    Raises:
        SearchSpaceError: If ``spec`` is not a valid declaration.
    """
    if not isinstance(spec, dict):
        raise SearchSpaceError(
            f"A space declaration must be a dict (SearchSpace.to_dict()), got "
            f"{type(spec).__name__}."
        )
    name = spec.get("name")
    if name in _BUILTIN:
        builtin = _BUILTIN[name]()
        if builtin.fingerprint() == json.dumps(spec, sort_keys=True, separators=(",", ":")):
            return builtin
    return SearchSpace.from_dict(spec)


def get(name: str | Path) -> SearchSpace:
    """Return a built-in space by name, or read a space from a ``.toml`` file.

    Raises:
        SearchSpaceError: If ``name`` is neither a built-in space nor a readable TOML file;
            the message lists the built-in names.
    """
    key = str(name)
    if key in _BUILTIN:
        return _BUILTIN[key]()
    alias = key.replace("_", "-").lower()
    if alias in _BUILTIN:
        return _BUILTIN[alias]()
    if key.endswith(".toml") or Path(key).is_file():
        return from_toml(key)
    raise SearchSpaceError(
        f"Unknown search space {key!r}. Choose one of {list_spaces()} or give a .toml file."
    )
