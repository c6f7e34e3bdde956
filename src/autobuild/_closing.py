"""A context manager that calls ``close()`` on exit, for objects holding resources.

Written by hand because :class:`contextlib.AbstractContextManager` leaves ``__exit__``
abstract and :func:`contextlib.closing` wraps an object instead of making the object itself
usable in a ``with`` statement.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing:
    """Mixin: ``with obj:`` returns ``obj`` and calls ``obj.close()`` however it exits."""

    def close(self) -> None:
        """Release what the object holds (subclasses implement it)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
