"""The network of an architecture: its space's own builder, or a benchmark's built-in one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from torch import nn

from autobuild import spaces
from autobuild.exceptions import SearchSpaceError
from autobuild.networks.nasbench_macro import build_nasbench_macro
from autobuild.networks.ofa import build_ofa_mbv3, build_ofa_pn
from autobuild.spaces import Architecture, SearchSpace

__all__ = ["BUILT_IN", "build_model", "can_build"]

#: Built-in space name -> the builder of its networks.
BUILT_IN: dict[str, Callable[[Architecture], nn.Module]] = {
    "nasbench-macro": build_nasbench_macro,
    "ofa-mbv3": build_ofa_mbv3,
    "ofa-pn": build_ofa_pn,
}


@functools.cache
def _built_in_fingerprint(name: str) -> str:
    return spaces.get(name).fingerprint()


def _builder(space: SearchSpace) -> Callable[[Architecture], Any] | None:
    if not isinstance(space, SearchSpace):
        raise SearchSpaceError(
            f"`space` must be a SearchSpace (e.g. ab.spaces.get('nasbench-macro')), got "
            f"{type(space).__name__}."
        )
    if space.builder is not None:
        user = space.builder
        return lambda arch: user(space, arch)
    build = BUILT_IN.get(space.name)
    # A space that only shares a built-in's name (a user's own declaration) is not that space.
    if build is not None and space.fingerprint() == _built_in_fingerprint(space.name):
        return build
    return None


def can_build(space: SearchSpace) -> bool:
    """Whether :func:`build_model` can build networks of ``space``."""
    return _builder(space) is not None


def build_model(space: SearchSpace, arch: Any) -> Any:
    """The network of ``arch``: a ``torch.nn.Module`` for the built-in benchmark spaces.

    A space built with ``SearchSpace(..., builder=fn)`` (or ``from_dict(spec, builder=fn)``)
    uses ``fn(space, arch)``, which may return any object; otherwise the built-in spaces
    (:data:`BUILT_IN`) build their benchmark's network.

    Args:
        space: The search space.
        arch: Any form :meth:`~autobuild.spaces.SearchSpace.parse` accepts (an
            :class:`~autobuild.spaces.Architecture`, a JSON form, a canonical or native id).

    Raises:
        SearchSpaceError: If the space cannot build networks, or ``arch`` is not in it.

    Example:
        >>> import autobuild as ab
        >>> net = ab.networks.build_model(ab.spaces.get("nasbench-macro"), "22212220")
        >>> type(net).__name__
        'NasBenchMacroNet'
    """
    build = _builder(space)
    if build is None:
        raise SearchSpaceError(
            f"Space {space.name!r} cannot build networks: it has no model builder (the "
            f"built-in spaces {sorted(BUILT_IN)} have one; pass `builder=` to "
            "SearchSpace.from_dict for your own)."
        )
    return build(space.parse(arch))
