"""Checks and JSON text shared by the storage interfaces (run store, study storage).

Values are stored as canonical JSON text (sorted keys, no spaces, finite numbers only), so
two equal values are equal text whatever their key order, and nothing is pickled.

Example:
    >>> canonical_json({"b": [1, 2], "a": 1}, "config")
    '{"a":1,"b":[1,2]}'
    >>> arch_text('{"k": 3}', "a1")
    '{"k":3}'
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

from autobuild.exceptions import ConfigError, DataError

__all__ = ["arch_text", "canonical_json", "check_metrics", "check_time"]


def canonical_json(value: Any, what: str) -> str:
    """``value`` as canonical JSON text: sorted keys, no spaces, finite numbers only.

    Args:
        value: A JSON-serialisable value.
        what: What the value is, in the error message.

    Returns:
        The canonical JSON text.

    Raises:
        ConfigError: ``value`` is not JSON-serialisable or holds a non-finite number.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be JSON-serialisable with finite numbers: {exc}") from exc


def check_metrics(metrics: Any, owner: str, *, failed_hint: str) -> dict[str, float]:
    """``metrics`` as a new dict of metric name to finite float.

    Args:
        metrics: The metrics received.
        owner: What they belong to, in messages (e.g. ``"'a1'"``).
        failed_hint: The last sentence of the error for a non-finite value: how to record
            such a result instead.

    Returns:
        A copy with every value a ``float``.

    Raises:
        DataError: ``metrics`` is not a mapping, a name is not a string, or a value is not a
            finite real number (``bool`` is refused).
    """
    if not isinstance(metrics, Mapping):
        raise DataError(f"metrics of {owner} must be a mapping of name to float, got {metrics!r}")
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise DataError(f"metric names must be strings, got {key!r} for {owner}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise DataError(f"metric {key!r} of {owner} must be a real number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise DataError(
                f"metric {key!r} of {owner} is {number!r}; only finite values are stored. "
                + failed_hint
            )
        out[key] = number
    return out


def check_time(value: Any, name: str) -> float:
    """``value`` as a Unix time in seconds.

    Raises:
        ConfigError: ``value`` is not a finite real number (``bool`` is refused).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a Unix time in seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be finite, got {number!r}")
    return number


def arch_text(arch_json: Any, arch_id: str) -> str:
    """An architecture given as JSON text or as a JSON value, as canonical JSON text.

    Args:
        arch_json: JSON text, or a JSON-serialisable value.
        arch_id: The architecture's id, in messages.

    Raises:
        ConfigError: The text is not valid JSON, or the value is not JSON-serialisable.
    """
    if isinstance(arch_json, str):
        try:
            arch_json = json.loads(arch_json)
        except ValueError as exc:
            raise ConfigError(f"arch_json of {arch_id!r} is not valid JSON: {exc}") from exc
    return canonical_json(arch_json, f"architecture {arch_id!r}")
