"""Whether a target is better high or low, and ordering best first.

A predictor's *direction* is the ``direction`` entry of its checkpoint metadata
(``autobuild train --direction min`` for a latency, ``train_predictor(metadata=...)``);
``"max"`` when it declares none. Scores and predictions stay in label units (e.g. ms); only
the order of rankings follows the direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from autobuild.exceptions import ConfigError

if TYPE_CHECKING:
    from autobuild.predictor.estimator import AutoBuildPredictor

__all__ = [
    "Direction",
    "best_first",
    "check_direction",
    "declared_direction",
    "predictor_direction",
]

#: Whether higher (``"max"``) or lower (``"min"``) values of a target are better.
Direction = Literal["max", "min"]


def check_direction(direction: Any, source: str) -> Direction:
    """``direction`` if it is ``"max"`` or ``"min"``.

    Raises:
        ConfigError: Any other value; the message names ``source`` and the value.
    """
    if direction not in get_args(Direction):
        raise ConfigError(
            f"The direction in {source} must be 'max' (higher is better) or 'min' (lower is "
            f"better), got {direction!r}; use one of them (`autobuild train --direction`)."
        )
    return direction


def declared_direction(metadata: Mapping[str, Any] | None, source: str) -> Direction | None:
    """The ``direction`` entry of checkpoint metadata, or ``None`` when it has none.

    Raises:
        ConfigError: An entry other than ``"max"`` or ``"min"``.
    """
    value = (metadata or {}).get("direction")
    return None if value is None else check_direction(value, source)


def predictor_direction(predictor: AutoBuildPredictor) -> Direction:
    """Whether a predictor's target is better high (``"max"``) or low (``"min"``).

    It is the ``direction`` entry of the predictor's checkpoint metadata (``metadata_``);
    ``"max"`` when the predictor declares none.

    Raises:
        ConfigError: A ``direction`` other than ``"max"`` or ``"min"``.
    """
    metadata = getattr(predictor, "metadata_", None)
    return declared_direction(metadata, "the predictor's checkpoint metadata") or "max"


def best_first(values: Sequence[float] | np.ndarray, direction: Direction) -> np.ndarray:
    """Indices that order ``values`` best first: descending for ``"max"``, ascending for
    ``"min"``; ties keep the given order.

    Example:
        >>> best_first([3.0, 1.0, 2.0], "min").tolist()
        [1, 2, 0]
    """
    v = np.asarray(values, dtype=np.float64)
    return np.argsort(-v if direction == "max" else v, kind="stable")
