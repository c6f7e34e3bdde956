"""Checks of user-given arguments, with one wording for every error they raise.

Every layer validates its arguments the same way: the message names the argument, what it
must be and the value received (``"`batch` must be an integer >= 1, got 0."``), and the
error is an :class:`~autobuild.exceptions.AutobuildError` (``ConfigError`` unless the caller
names another class, e.g. ``SearchSpaceError`` for a space declaration). ``bool`` is refused
where a number is expected: ``True`` is an ``int`` to Python but never a size or a rate.

Example:
    >>> check_int("batch", 8, low=1)
    8
    >>> check_probability("crossover_prob", 0.5)
    0.5
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, TypeVar

from autobuild.exceptions import AutobuildError, ConfigError

__all__ = ["check_bool", "check_choice", "check_int", "check_number", "check_probability"]

_Choice = TypeVar("_Choice")


def check_int(
    name: str,
    value: Any,
    *,
    low: int = 0,
    error: type[AutobuildError] = ConfigError,
    where: str = "",
) -> int:
    """Return ``value`` if it is an integer ``>= low``.

    Args:
        name: The argument's name, as the user wrote it.
        value: The value received.
        low: Smallest allowed value.
        error: The error class to raise.
        where: A prefix naming the context, e.g. ``"Stage 's1': "``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise error(f"{where}`{name}` must be an integer >= {low}, got {value!r}.")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    strict: bool = False,
    error: type[AutobuildError] = ConfigError,
) -> float:
    """Return ``value`` as a float if it is a finite number ``>= low`` (``> low`` if strict).

    Args:
        name: The argument's name.
        value: The value received (a real number such as an ``int``, a ``float`` or a NumPy
            scalar; not a ``bool``).
        low: Lower bound (``None``: any finite number).
        strict: Exclude ``low`` itself.
        error: The error class to raise.
    """
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if low is None:
        if not ok:
            raise error(f"`{name}` must be a finite number, got {value!r}.")
        return float(value)
    if not ok or value < low or (strict and value == low):
        op = ">" if strict else ">="
        raise error(f"`{name}` must be a finite number {op} {low}, got {value!r}.")
    return float(value)


def check_probability(
    name: str, value: Any, *, open_low: bool = False, error: type[AutobuildError] = ConfigError
) -> float:
    """Return ``value`` as a float if it lies in ``[0, 1]`` (``(0, 1]`` with ``open_low``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"`{name}` must be a number in [0, 1], got {value!r}.")
    x = float(value)
    if not ((0.0 < x <= 1.0) if open_low else (0.0 <= x <= 1.0)):
        bounds = "(0, 1]" if open_low else "[0, 1]"
        raise error(f"`{name}` must be in {bounds}, got {value!r}.")
    return x


def check_choice(
    name: str,
    value: Any,
    choices: Sequence[_Choice],
    *,
    error: type[AutobuildError] = ConfigError,
) -> _Choice:
    """Return ``value`` if it is one of ``choices`` (a ``Literal``'s ``get_args``)."""
    if isinstance(value, bool) or value not in choices:
        raise error(f"`{name}` must be one of {list(choices)}, got {value!r}.")
    return value


def check_bool(name: str, value: Any, *, error: type[AutobuildError] = ConfigError) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (not ``0``/``1`` or a string)."""
    if not isinstance(value, bool):
        raise error(f"`{name}` must be true or false, got {value!r}.")
    return value
