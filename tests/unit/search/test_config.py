"""The configuration every search method takes: defaults, normalisation and checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from autobuild.exceptions import ConfigError
from autobuild.search import Constraint, SearchConfig

OBJECTIVES = [("acc", "max"), ("lat", "min")]


def test_defaults_and_budget() -> None:
    config = SearchConfig(OBJECTIVES)
    assert config.objectives == (("acc", "max"), ("lat", "min"))
    assert (config.initial, config.iterations, config.batch) == (50, 4, 50)
    assert config.budget == 250
    assert (config.mutation_prob, config.crossover_prob, config.seed) == (0.5, 0.0, 0)
    assert config.constraints == ()
    assert config.globals_ is None
    assert SearchConfig(OBJECTIVES, initial=7, iterations=3, batch=6).budget == 25
    assert SearchConfig(OBJECTIVES, iterations=0).budget == 50


def test_inputs_are_normalised() -> None:
    config = SearchConfig(
        [["acc", "max"]],  # type: ignore[list-item]
        mutation_prob=1,
        crossover_prob=0,
        constraints=["lat<=5", Constraint("acc", ">=", 90)],  # type: ignore[list-item]
        globals_=[224],  # type: ignore[arg-type]
    )
    assert config.objectives == (("acc", "max"),)
    assert isinstance(config.mutation_prob, float)
    assert isinstance(config.crossover_prob, float)
    assert config.constraints == (Constraint("lat", "<=", 5.0), Constraint("acc", ">=", 90.0))
    assert config.globals_ == (224,)
    assert config == SearchConfig(
        (("acc", "max"),),
        mutation_prob=1.0,
        constraints=(Constraint("lat", "<=", 5.0), Constraint("acc", ">=", 90.0)),
        globals_=(224,),
    )


def test_frozen_and_replace_checks_again() -> None:
    config = SearchConfig(OBJECTIVES, seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 2  # type: ignore[misc]
    other = config.replace(seed=2, constraints=["lat<=3"])
    assert (other.seed, config.seed) == (2, 1)
    assert other.constraints == (Constraint("lat", "<=", 3.0),)
    with pytest.raises(ConfigError, match="`batch` must be an integer >= 1, got 0"):
        config.replace(batch=0)


def test_settings_after_objectives_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        SearchConfig(OBJECTIVES, 10)  # type: ignore[misc]


def test_metrics_are_the_objectives_then_the_constraint_metrics() -> None:
    config = SearchConfig(OBJECTIVES, constraints=["flops<=5e7", "acc>=90", "params>=1"])
    assert config.metrics == {"acc": "max", "lat": "min", "flops": "min", "params": "max"}


def test_stored_settings() -> None:
    assert SearchConfig(OBJECTIVES, initial=5, iterations=1, batch=3).stored() == {
        "objectives": [["acc", "max"], ["lat", "min"]],
        "initial": 5,
        "iterations": 1,
        "batch": 3,
    }
    stored = SearchConfig(OBJECTIVES, constraints=["lat<=5"]).stored()
    assert stored["constraints"] == ["lat<=5.0"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"objectives": [("acc", "up")]}, r"objective.*\('acc', 'up'\)"),
        ({"objectives": [("acc", "max"), ("acc", "min")]}, r"distinct.*\['acc', 'acc'\]"),
        ({"objectives": []}, r"`objectives`.*\[\]"),
        ({"objectives": "acc"}, "METRIC:max or METRIC:min.*'acc'"),
        ({"initial": 0}, "`initial` must be an integer >= 1, got 0"),
        ({"iterations": -1}, "`iterations` must be an integer >= 0, got -1"),
        ({"batch": 2.5}, "`batch` must be an integer >= 1, got 2.5"),
        ({"seed": True}, "`seed` must be an integer >= 0, got True"),
        ({"seed": -3}, "`seed` must be an integer >= 0, got -3"),
        ({"mutation_prob": 0.0}, r"`mutation_prob` must be in \(0, 1\], got 0.0"),
        ({"mutation_prob": "high"}, "`mutation_prob` must be a number in .*'high'"),
        ({"crossover_prob": 1.5}, r"`crossover_prob` must be in \[0, 1\], got 1.5"),
        ({"constraints": "lat<=5"}, "wrap it in a list"),
        ({"constraints": ["lat<5"]}, "METRIC<=BOUND.*'lat<5'"),
        ({"globals_": "224"}, "`globals_` must be a sequence.*'224'"),
    ],
)
def test_invalid_settings_name_the_value(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"objectives": OBJECTIVES, **kwargs}
    with pytest.raises(ConfigError, match=match):
        SearchConfig(**args)
