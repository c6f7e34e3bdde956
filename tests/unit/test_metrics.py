import math

import numpy as np
import pytest
from scipy import stats

from autobuild.metrics import kendall, rankdata, regression_metrics, spearman


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_scipy_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=300)
    b = a + rng.normal(size=300)
    ta, tb = np.round(a, 1), np.round(b, 0)  # many ties
    for x, y in ((a, b), (ta, tb), (ta, b)):
        np.testing.assert_allclose(rankdata(x), stats.rankdata(x))
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
        assert kendall(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_kendall_chunks_cover_every_pair():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, size=5000).astype(float)
    b = a + rng.integers(0, 20, size=5000)
    assert kendall(a, b) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)


def test_constant_inputs_give_nan():
    assert math.isnan(spearman(np.ones(5), np.arange(5.0)))
    assert math.isnan(kendall(np.arange(5.0), np.ones(5)))
    assert math.isnan(spearman(np.ones(1), np.ones(1)))


def test_regression_metrics_keys_and_hops():
    y = np.arange(10.0)
    m = regression_metrics(y, y + 1, np.c_[y, -y, y**2])
    assert m["srcc"] == pytest.approx(1.0)
    assert m["mae"] == pytest.approx(1.0)
    assert m["hop_srcc"] == pytest.approx([1.0, -1.0, 1.0])
