import numpy as np
import pytest
from tests.conftest import synthetic_acc

from autobuild.exceptions import ConfigError
from autobuild.predictor import AutoBuildPredictor
from autobuild.predictor.direction import best_first, predictor_direction
from autobuild.scoring import score_modules


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    import tomllib

    from tests.conftest import TINY_TOML

    from autobuild.spaces import SearchSpace

    space = SearchSpace.from_dict(tomllib.loads(TINY_TOML))
    archs = space.sample(60, seed=0)
    pred = AutoBuildPredictor(space, epochs=2, random_state=0).fit(
        archs, synthetic_acc(space, archs)
    )
    folder = tmp_path_factory.mktemp("direction")
    pred.save(folder / "min", extra={"direction": "min", "unit": "ms"})
    pred.save(folder / "bad", extra={"direction": "lower"})
    pred.save(folder / "none")
    return pred, folder


def test_direction_comes_from_the_checkpoint_metadata(fitted):
    pred, folder = fitted
    assert predictor_direction(pred) == "max"
    assert predictor_direction(AutoBuildPredictor.load(folder / "none")) == "max"
    low = AutoBuildPredictor.load(folder / "min")
    assert predictor_direction(low) == "min"
    with pytest.raises(ConfigError, match=r"'max' .* or 'min' .*got 'lower'"):
        predictor_direction(AutoBuildPredictor.load(folder / "bad"))


def test_min_tables_list_the_lowest_scores_first(fitted):
    pred, folder = fitted
    high = score_modules(pred)
    low = score_modules(AutoBuildPredictor.load(folder / "min"))
    assert (high.direction, low.direction) == ("max", "min")
    assert [r.score for r in low.records] == [r.score for r in high.records]  # raw units
    for u in range(pred.space.num_units):
        values = [r.score for r in high.records if r.unit == u]
        assert [r.score for r in low.unit(u)] == sorted(values)
        assert [r.score for r in high.unit(u)] == sorted(values, reverse=True)
        assert low.top_k(u, 1)[0].score == min(r.score for r in high.unit(u))
        assert high.top_k(u, 1)[0].score == max(r.score for r in high.unit(u))


def test_best_first_orders_by_direction_and_keeps_ties_in_order():
    values = np.asarray([2.0, 1.0, 3.0, 1.0, 3.0])
    assert best_first(values, "max").tolist() == [2, 4, 0, 1, 3]
    assert best_first(values, "min").tolist() == [1, 3, 0, 2, 4]


def test_a_freshly_trained_predictor_carries_its_metadata(tiny_csv, tiny_space, tmp_path):
    from autobuild.data import load_table
    from autobuild.predictor import train_predictor

    data = load_table(tiny_csv, tiny_space)
    meta = {"direction": "min", "unit": "ms"}
    result = train_predictor(data, "latency", epochs=2, metadata=meta, out=tmp_path / "ck")
    assert predictor_direction(result.predictor) == "min"
    assert result.predictor.metadata_["unit"] == "ms"
    # A save without `extra` keeps what the predictor carries.
    result.predictor.save(tmp_path / "again")
    assert predictor_direction(AutoBuildPredictor.load(tmp_path / "again")) == "min"
