"""The shared argument checks: accepted values pass through, others name value and rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autobuild._validation import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_probability,
)
from autobuild.exceptions import ConfigError, SearchSpaceError


def test_check_int() -> None:
    assert check_int("n", 3, low=1) == 3
    with pytest.raises(ConfigError, match=r"^`n` must be an integer >= 1, got 0\.$"):
        check_int("n", 0, low=1)
    for bad in (True, 1.0, "2", None):
        with pytest.raises(ConfigError, match="must be an integer"):
            check_int("n", bad)


def test_check_int_error_class_and_context() -> None:
    with pytest.raises(SearchSpaceError, match=r"^Stage 's1': `max_layers` must be"):
        check_int("max_layers", -1, error=SearchSpaceError, where="Stage 's1': ")


def test_check_number() -> None:
    assert check_number("lr", 0.5, low=0, strict=True) == 0.5
    assert check_number("x", np.float32(2.0)) == 2.0
    assert check_number("w", 0, low=0) == 0.0
    with pytest.raises(ConfigError, match=r"^`lr` must be a finite number > 0, got 0\.$"):
        check_number("lr", 0, low=0, strict=True)
    for bad in (math.nan, math.inf, True, "1", None):
        with pytest.raises(ConfigError, match="must be a finite number"):
            check_number("x", bad)


def test_check_probability() -> None:
    assert check_probability("p", 0) == 0.0
    assert check_probability("p", 1) == 1.0
    with pytest.raises(ConfigError, match=r"must be in \(0, 1\], got 0"):
        check_probability("p", 0, open_low=True)
    with pytest.raises(ConfigError, match=r"must be in \[0, 1\], got 1\.5"):
        check_probability("p", 1.5)
    with pytest.raises(ConfigError, match="must be a number in"):
        check_probability("p", "0.5")


def test_check_choice_and_bool() -> None:
    assert check_choice("act", "relu", ("relu", "gelu")) == "relu"
    with pytest.raises(ConfigError, match=r"^`act` must be one of \['relu', 'gelu'\], got 'tanh'"):
        check_choice("act", "tanh", ("relu", "gelu"))
    with pytest.raises(ConfigError, match="must be one of"):
        check_choice("k", True, (1, 3))
    assert check_bool("flag", False) is False
    with pytest.raises(ConfigError, match=r"^`flag` must be true or false, got 1\.$"):
        check_bool("flag", 1)
