import json

import numpy as np
import pytest
from tests.conftest import synthetic_acc

from autobuild.construction import reduce_space
from autobuild.ensemble import PredictorEnsemble, fit_ensemble
from autobuild.exceptions import ConfigError
from autobuild.predictor import AutoBuildPredictor

# Tiny training sets leave thin label-moment buckets; their warnings are not under test.
pytestmark = pytest.mark.filterwarnings("ignore::autobuild.exceptions.AutobuildWarning")


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """Two fitted predictors of the tiny space saved as ``min``, ``max`` and undeclared."""
    import tomllib

    from tests.conftest import TINY_TOML

    from autobuild.spaces import SearchSpace

    space = SearchSpace.from_dict(tomllib.loads(TINY_TOML))
    archs = space.sample(60, seed=0)
    y = synthetic_acc(space, archs)
    folder = tmp_path_factory.mktemp("members")
    for seed in (0, 1):
        pred = AutoBuildPredictor(space, epochs=2, random_state=seed).fit(archs, y)
        for direction in ("min", "max", None):
            extra = {} if direction is None else {"direction": direction}
            pred.save(folder / f"{direction}{seed}", extra=extra)
    hops = pred.config.num_layers + 1

    def ensemble(*names, metadata=None):
        members = tuple(AutoBuildPredictor.load(folder / n) for n in names)
        info = tuple({"name": n, "srcc": 1.0, "hop_srcc": [1.0] * hops} for n in names)
        return PredictorEnsemble(space, members, info, dict(metadata or {}))

    return space, archs, ensemble


def test_a_min_ensemble_ranks_the_lowest_first(parts):
    space, archs, ensemble = parts
    ens = ensemble("min0", "min1")
    assert ens.direction == "min"
    table = ens.score_modules()
    assert table.direction == "min"
    for u in range(space.num_units):
        scores = [r.score for r in table.unit(u)]
        assert scores == sorted(scores)
    built = reduce_space(table, 2).ranked()
    assert [b.score for b in built] == sorted(b.score for b in built)
    ranked = ens.rank_candidates(archs[:20])
    assert [b.score for b in ranked] == sorted(b.score for b in ranked)
    out = ens.rerank(built)
    mean, _ = ens.predict([b.arch for b in built])
    assert [b.prediction for b in out] == pytest.approx(np.sort(mean))
    # The same members without a declared direction rank highest first.
    high = ensemble("None0", "None1")
    assert high.direction == "max"
    assert [b.prediction for b in high.rerank(built)] == pytest.approx(np.sort(mean)[::-1])


def test_the_ensemble_metadata_can_declare_the_direction(parts):
    _, _, ensemble = parts
    assert ensemble("None0", "None1", metadata={"direction": "min"}).direction == "min"
    assert ensemble("None0", "min1").direction == "min"


def test_members_of_different_directions_are_refused(parts):
    _, _, ensemble = parts
    with pytest.raises(ConfigError, match=r"member min0: 'min', member max1: 'max'"):
        ensemble("min0", "max1")
    with pytest.raises(ConfigError, match=r"the ensemble metadata: 'max', member min0: 'min'"):
        ensemble("min0", "None1", metadata={"direction": "max"})
    with pytest.raises(ConfigError, match="got 'fast'"):
        ensemble("None0", metadata={"direction": "fast"})


def test_fit_ensemble_direction_survives_save_and_load(parts, tmp_path):
    space, archs, _ = parts
    y = -synthetic_acc(space, archs)
    out = tmp_path / "ens"
    ens = fit_ensemble(
        space,
        archs,
        y,
        folds=2,
        seeds=[0],
        executor="serial",
        epochs=2,
        out=out,
        metadata={"direction": "min"},
    )
    assert ens.direction == "min"
    loaded = PredictorEnsemble.load(out)
    assert loaded.direction == "min"
    assert loaded.score_modules().direction == "min"
    # A member checkpoint edited to another direction makes the folder unusable.
    member = out / "members" / loaded.info[0]["name"] / "predictor.json"
    meta = json.loads(member.read_text())
    meta["extra"]["direction"] = "max"
    member.write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="different ones"):
        PredictorEnsemble.load(out)


def test_exhaustive_search_keeps_the_lowest_for_direction_min(parts):
    from autobuild.ensemble import exhaustive_search

    space, _, ensemble = parts
    high = ensemble("None0", "None1")
    low = ensemble("min0", "min1")
    every = list(space.enumerate_architectures())
    mean, _ = high.predict(every)
    for ens, expected in ((low, np.sort(mean)[:5]), (high, np.sort(mean)[::-1][:5])):
        result = exhaustive_search(ens.members, ens.prediction_weights, top=5)
        assert list(result.scores) == pytest.approx(expected)
    # An explicit direction overrides what the members declare.
    given = exhaustive_search(high.members, high.prediction_weights, top=5, direction="min")
    assert list(given.scores) == pytest.approx(np.sort(mean)[:5])


def test_exhaustive_search_refuses_members_of_different_directions(parts):
    from autobuild.ensemble import exhaustive_search

    _, _, ensemble = parts
    members = [ensemble("min0").members[0], ensemble("max1").members[0]]
    with pytest.raises(ConfigError, match=r"different directions \['max', 'min'\]"):
        exhaustive_search(members, [1.0, 1.0])
    with pytest.raises(ConfigError, match="got 'down'"):
        exhaustive_search(members[:1], [1.0], direction="down")
