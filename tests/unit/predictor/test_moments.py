"""Label moments per (unit, size) and what a bucket borrows when it cannot stand alone."""

import pytest

from autobuild.exceptions import AutobuildWarning
from autobuild.predictor.moments import LabelMoments

# unit 0: sizes 1 (one label), 2 (two labels), 3 (two equal labels); unit 1: one size, no spread
_MOMENTS = LabelMoments(
    buckets={
        (0, 1): (5.0, 0.0, 1),
        (0, 2): (2.0, 1.0, 2),
        (0, 3): (4.0, 0.0, 2),
        (1, 1): (3.0, 0.0, 5),
    },
    unit_moments={0: (3.2, 1.5, 5), 1: (3.0, 0.0, 5)},
    overall=(3.0, 2.0, 5),
)


def test_a_bucket_with_spread_stands_alone():
    assert _MOMENTS.get(0, 2) == (2.0, 1.0)


@pytest.mark.parametrize("size", [1, 3])
def test_a_bucket_without_spread_keeps_its_mean_and_borrows_the_units_spread(size):
    with pytest.warns(AutobuildWarning, match="using the spread of unit 0"):
        mean, std = _MOMENTS.get(0, size)
    assert (mean, std) == (_MOMENTS.buckets[(0, size)][0], 1.5)


def test_an_empty_bucket_takes_the_units_mean_and_spread():
    with pytest.warns(AutobuildWarning, match="using the mean and spread of unit 0"):
        assert _MOMENTS.get(0, 4) == (3.2, 1.5)


def test_a_unit_without_spread_borrows_from_all_labels():
    with pytest.warns(AutobuildWarning, match="of all training labels"):
        assert _MOMENTS.get(1, 1) == (3.0, 2.0)
    with pytest.warns(AutobuildWarning, match="mean and spread of all training labels"):
        assert _MOMENTS.get(1, 2) == (3.0, 2.0)


def test_the_mean_alone_needs_no_spread(recwarn):
    assert _MOMENTS.get(0, 1, need_spread=False) == (5.0, 0.0)
    assert not recwarn.list


def test_json_round_trip():
    assert LabelMoments.from_json(_MOMENTS.to_json()) == _MOMENTS
