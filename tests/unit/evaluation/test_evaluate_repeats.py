"""``BaseEvaluator.evaluate`` evaluates each distinct architecture once."""

import pytest
from tests.conftest import synthetic_acc

import autobuild.spaces as S
from autobuild.evaluation import BaseEvaluator, Metric, PredictorEvaluator
from autobuild.predictor import AutoBuildPredictor


class Counting(BaseEvaluator):
    """Numbers the architectures in the order it sees them; remembers every batch."""

    metrics = (Metric("n", "max"), Metric("layers", "min"))

    def __init__(self, space, batch_size=256):
        super().__init__(space, batch_size)
        self.batches = []

    def _evaluate(self, archs):
        self.batches.append(list(archs))
        seen = sum(len(b) for b in self.batches) - len(archs)
        return [{"n": float(seen + i), "layers": float(a.num_layers)} for i, a in enumerate(archs)]


@pytest.mark.parametrize("batch_size", [1, 2, 256])
def test_each_distinct_architecture_is_evaluated_once(tiny_space, batch_size):
    pool = tiny_space.sample(6, seed=0)
    archs = [pool[0], pool[1], pool[0], pool[2], pool[1], pool[3], pool[0]]
    ev = Counting(tiny_space, batch_size)
    records = ev.evaluate(archs)
    seen = [a for batch in ev.batches for a in batch]
    assert seen == pool[:4]  # first-seen order, no repeats
    assert all(len(b) <= batch_size for b in ev.batches)
    assert len(records) == len(archs)
    assert [r["n"] for r in records] == [0.0, 1.0, 0.0, 2.0, 1.0, 3.0, 0.0]
    assert [r["layers"] for r in records] == [float(a.num_layers) for a in archs]
    # Repeats are equal but separate records: changing one leaves the others alone.
    records[2]["n"] = -1.0
    assert records[0]["n"] == records[6]["n"] == 0.0


def test_other_forms_of_one_architecture_are_evaluated_once(tiny_space):
    arch = tiny_space.sample(1, seed=1)[0]
    forms = [arch, tiny_space.canonical_id(arch), tiny_space.to_json(arch)]
    ev = Counting(tiny_space)
    records = ev.evaluate(forms)
    assert ev.batches == [[arch]]
    assert records == [records[0]] * 3


def test_empty_input_evaluates_nothing(tiny_space):
    ev = Counting(tiny_space)
    assert ev.evaluate([]) == []
    assert ev.batches == []


def test_a_predictor_evaluator_gives_one_network_one_value():
    space = S.get("nasbench-macro")
    archs = space.sample(60, seed=0)
    pred = AutoBuildPredictor(space, epochs=2, random_state=0).fit(
        archs, synthetic_acc(space, archs)
    )
    ev = PredictorEvaluator(pred)
    records = ev.evaluate(["22212220", *space.sample(3, seed=1), "22212202"])
    assert records[0] == records[-1]
