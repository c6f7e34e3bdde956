"""Feature declarations: the choices a layer (or the whole network) makes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeAlias

from autobuild.exceptions import SearchSpaceError

__all__ = ["CategoricalFeature", "Feature", "NumericFeature", "Value", "feature_from_spec"]

#: A feature value as it appears in a declaration or in data.
Value: TypeAlias = int | float | str | bool

# Characters that structure canonical architecture ids; categorical values may not use them.
RESERVED_CHARS = frozenset(":,|@")


@dataclass(frozen=True, slots=True)
class CategoricalFeature:
    """A feature that picks one value from a finite, ordered list.

    Args:
        name: Feature name, e.g. ``"kernel"``.
        values: Allowed values, in declaration order (this order is the enumeration order).
    """

    name: str
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.values:
            raise SearchSpaceError(f"Feature {self.name!r} declares no values; give at least one.")
        keys = [_key(v) for v in self.values]
        if len(set(keys)) != len(keys):
            raise SearchSpaceError(
                f"Feature {self.name!r} declares duplicate values {list(self.values)!r}; "
                "list each value once."
            )
        for v in self.values:
            if isinstance(v, str) and RESERVED_CHARS & set(v):
                raise SearchSpaceError(
                    f"Value {v!r} of feature {self.name!r} contains one of the reserved "
                    f"characters {''.join(sorted(RESERVED_CHARS))!r}; rename it."
                )

    @property
    def kind(self) -> str:
        """``"categorical"``."""
        return "categorical"

    @property
    def enumerable(self) -> bool:
        """Whether the values can be listed (always true for categorical features)."""
        return True

    def coerce(self, value: Any) -> Value | None:
        """Return the declared value equal to ``value``, or ``None`` if there is none.

        Values are matched exactly first, then by their string form, so ``"3"`` from a CSV
        cell matches a declared ``3``.
        """
        for v in self.values:
            if type(v) is type(value) and v == value:
                return v
        text = _key(value)
        for v in self.values:
            if _key(v) == text:
                return v
        return None

    def describe(self) -> str:
        """The allowed values, for error messages."""
        return repr(list(self.values))

    def to_spec(self) -> Any:
        """The TOML/JSON form of this feature."""
        return list(self.values)


@dataclass(frozen=True, slots=True)
class NumericFeature:
    """A real-valued feature, from a finite list of values or a closed interval.

    The encoder feeds numeric features to the predictor normalised to ``[0, 1]`` by
    ``(value - low) / (high - low)``.

    Args:
        name: Feature name, e.g. ``"resolution"``.
        values: Allowed values, or ``None`` for the whole interval ``[low, high]``.
        low: Smallest allowed value (the minimum of ``values`` when they are given).
        high: Largest allowed value.
        default: Value used when an architecture does not give one (global features only).
    """

    name: str
    values: tuple[float, ...] | None
    low: float
    high: float
    default: float | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise SearchSpaceError(
                f"Numeric feature {self.name!r} needs finite bounds with low <= high, "
                f"got low={self.low!r}, high={self.high!r}."
            )
        if self.values is not None and not self.values:
            raise SearchSpaceError(f"Feature {self.name!r} declares no values; give at least one.")
        if self.values is not None and len(set(self.values)) != len(self.values):
            raise SearchSpaceError(
                f"Feature {self.name!r} declares duplicate values {list(self.values)!r}; "
                "list each value once."
            )
        if self.default is not None and self.coerce(self.default) is None:
            raise SearchSpaceError(
                f"Default {self.default!r} of feature {self.name!r} is not an allowed value "
                f"({self.describe()})."
            )

    @property
    def kind(self) -> str:
        """``"numeric"``."""
        return "numeric"

    @property
    def enumerable(self) -> bool:
        """Whether the feature has a finite list of values."""
        return self.values is not None

    def coerce(self, value: Any) -> float | None:
        """Return ``value`` as an allowed float, or ``None`` if it is not allowed."""
        if isinstance(value, bool):
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(x):
            return None
        if self.values is None:
            return x if self.low <= x <= self.high else None
        for v in self.values:
            if math.isclose(x, v, rel_tol=1e-9, abs_tol=1e-12):
                return v
        return None

    def normalize(self, value: float) -> float:
        """Map ``value`` to ``[0, 1]`` (``0`` when the feature has a single value)."""
        span = self.high - self.low
        return 0.0 if span == 0 else (value - self.low) / span

    def describe(self) -> str:
        """The allowed values, for error messages."""
        if self.values is not None:
            return repr(list(self.values))
        return f"any number in [{self.low!r}, {self.high!r}]"

    def to_spec(self) -> Any:
        """The TOML/JSON form of this feature."""
        spec: dict[str, Any] = {"type": "numeric"}
        if self.values is not None:
            spec["values"] = list(self.values)
        else:
            spec["min"], spec["max"] = self.low, self.high
        if self.default is not None:
            spec["default"] = self.default
        return spec


Feature: TypeAlias = CategoricalFeature | NumericFeature


def feature_from_spec(name: str, spec: Any, where: str) -> Feature:
    """Build a feature from its TOML/JSON declaration.

    Args:
        name: Feature name.
        spec: A list of values (categorical), or a table with ``type`` (``"categorical"`` or
            ``"numeric"``), ``values`` and, for numeric features, ``min``/``max``/``default``.
        where: Where the declaration sits, for error messages (e.g. ``"[layer]"``).

    Raises:
        SearchSpaceError: If the declaration is malformed.
    """
    if isinstance(spec, list):
        return CategoricalFeature(name, _scalars(name, spec, where))
    if not isinstance(spec, dict):
        raise SearchSpaceError(
            f"Feature {name!r} in {where} must be a list of values or a table with 'type' and "
            f"'values', got {spec!r}."
        )
    allowed = {"type", "values", "min", "max", "default"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise SearchSpaceError(
            f"Unknown key(s) {unknown} in feature {name!r} of {where}; "
            f"valid keys: {sorted(allowed)}."
        )
    kind = spec.get("type", "categorical")
    if kind == "categorical":
        if set(spec) - {"type", "values"}:
            raise SearchSpaceError(
                f"Categorical feature {name!r} in {where} takes only 'values' (and 'type'); "
                f"got keys {sorted(spec)}."
            )
        return CategoricalFeature(name, _scalars(name, spec.get("values"), where))
    if kind != "numeric":
        raise SearchSpaceError(
            f"Feature {name!r} in {where} has type {kind!r}; use 'categorical' or 'numeric'."
        )
    default = spec.get("default")
    if default is not None:
        default = _number(name, default, where)
    if "values" in spec:
        if "min" in spec or "max" in spec:
            raise SearchSpaceError(
                f"Numeric feature {name!r} in {where} gives both 'values' and 'min'/'max'; "
                "give one of them."
            )
        vals = tuple(_number(name, v, where) for v in _scalars(name, spec["values"], where))
        return NumericFeature(name, vals, min(vals), max(vals), default)
    if "min" not in spec or "max" not in spec:
        raise SearchSpaceError(
            f"Numeric feature {name!r} in {where} needs 'values', or both 'min' and 'max'."
        )
    return NumericFeature(
        name, None, _number(name, spec["min"], where), _number(name, spec["max"], where), default
    )


def _scalars(name: str, values: Any, where: str) -> tuple[Value, ...]:
    if not isinstance(values, list) or not values:
        raise SearchSpaceError(
            f"Feature {name!r} in {where} needs a non-empty list of values, got {values!r}."
        )
    for v in values:
        if not isinstance(v, int | float | str | bool):
            raise SearchSpaceError(
                f"Feature {name!r} in {where} has value {v!r}; values must be numbers, "
                "strings or booleans."
            )
    return tuple(values)


def _number(name: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SearchSpaceError(
            f"Numeric feature {name!r} in {where} has non-numeric or non-finite value {value!r}."
        )
    return float(value)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise SearchSpaceError(
            f"Feature name {name!r} must be a valid identifier (letters, digits, underscores)."
        )


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
