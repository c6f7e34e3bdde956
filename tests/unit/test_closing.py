"""The Closing mixin closes its object however a ``with`` block ends."""

from __future__ import annotations

import pytest

from autobuild._closing import Closing


class _Resource(Closing):
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_with_returns_the_object_and_closes_it() -> None:
    res = _Resource()
    with res as same:
        assert same is res
        assert res.closed == 0
    assert res.closed == 1
    with pytest.raises(KeyError), res:
        raise KeyError("x")
    assert res.closed == 2


def test_close_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError), Closing():
        pass
