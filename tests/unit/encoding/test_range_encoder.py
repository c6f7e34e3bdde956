"""The vectorised range encoder equals ``encode_batch`` in enumeration order, row for row."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

import autobuild.spaces as S
from autobuild.encoding import GraphBatch, SequenceGraphEncoder
from autobuild.exceptions import EncodingError, SearchSpaceError
from autobuild.spaces import Architecture, SearchSpace

# Empty stages, a first_layer override, stage restrictions, a numeric layer feature,
# categorical and numeric globals and a merged unit.
MIXED = {
    "name": "mixed",
    "layer": {"kernel": [3, 5, 7], "width": {"type": "numeric", "values": [0.5, 1.0]}},
    "global": {
        "resolution": {"type": "numeric", "values": [192, 224], "default": 224},
        "act": ["relu", "swish"],
    },
    "stage": [
        {"name": "a", "min_layers": 0, "max_layers": 2},
        {
            "name": "b",
            "min_layers": 0,
            "max_layers": 2,
            "layer": {"kernel": [3, 5]},
            "first_layer": {"kernel": [1, 3], "width": {"type": "numeric", "values": [1.0]}},
        },
        {"name": "c", "min_layers": 1, "max_layers": 1, "layer": {"kernel": [7]}},
    ],
    "units": [["a"], ["b", "c"]],
}


def _assert_same(a: GraphBatch, b: GraphBatch) -> None:
    assert torch.equal(a.x_cat, b.x_cat)
    assert torch.equal(a.x_num, b.x_num)
    assert torch.equal(a.ptr, b.ptr)
    assert a.unit_len is not None
    assert b.unit_len is not None
    assert torch.equal(a.unit_len, b.unit_len)
    assert a.x_cat.dtype == b.x_cat.dtype
    assert a.x_num.dtype == b.x_num.dtype


def _reference(space: SearchSpace) -> Callable[[int], Architecture]:
    """Architecture ``i`` of ``enumerate_architectures``, without enumerating (big spaces)."""
    per_stage = [
        [c for n in range(s.min_layers, s.max_layers + 1) for c in s.enumerate(n)]
        for s in space.stages
    ]
    per_global = [list(f.values or ()) for f in space.global_features]
    radices = [len(v) for v in per_global] + [len(v) for v in per_stage]
    k = len(per_global)

    def at(index: int) -> Architecture:
        digits = []
        for r in reversed(radices):
            index, d = divmod(index, r)
            digits.append(d)
        digits.reverse()
        return Architecture(
            tuple(per_stage[i][digits[k + i]] for i in range(len(per_stage))),
            tuple(per_global[g][digits[g]] for g in range(k)),
        )

    return at


@pytest.mark.parametrize("which", ["tiny", "mixed", "nasbench-macro"])
def test_every_chunking_equals_encode_batch(which, tiny_space):
    space = {"tiny": tiny_space, "mixed": SearchSpace.from_dict(MIXED)}.get(which)
    space = space or S.get(which)
    enc = SequenceGraphEncoder(space)
    archs = list(space.enumerate_architectures())
    assert len(archs) == space.size()
    _assert_same(enc.encode_architecture_range(0, len(archs)), enc.encode_batch(archs))
    for chunk in (1, 7, 1000):
        for lo in range(0, len(archs), max(chunk, len(archs) // 9)):
            hi = min(lo + chunk, len(archs))
            _assert_same(enc.encode_architecture_range(lo, hi), enc.encode_batch(archs[lo:hi]))
    assert [enc.architecture_at(i) for i in range(len(archs))] == archs


@pytest.mark.parametrize("name", ["ofa-mbv3", "ofa-pn", "sd-unet"])
def test_slices_of_builtin_spaces(name):
    if name not in S.list_spaces():
        pytest.skip(f"{name} is not built in")
    space = S.get(name)
    enc = SequenceGraphEncoder(space)
    at = _reference(space)
    total = space.size()
    for lo in (0, 7_370, total // 3 + 12_345, total - 600):
        hi = min(lo + 600, total)
        archs = [at(i) for i in range(lo, hi)]
        assert [enc.architecture_at(i) for i in (lo, hi - 1)] == [archs[0], archs[-1]]
        assert all(space.validate(a) == a for a in archs[::50])
        _assert_same(enc.encode_architecture_range(lo, hi), enc.encode_batch(archs))


def test_empty_range_and_bad_ranges(tiny_space):
    enc = SequenceGraphEncoder(tiny_space)
    _assert_same(enc.encode_architecture_range(5, 5), enc.encode_batch([]))
    total = tiny_space.size()
    for lo, hi in ((-1, 3), (0, total + 1), (5, 4), (True, 3), (0.0, 3)):
        with pytest.raises(EncodingError, match=r"range .* is invalid.*0 \.\. 5417"):
            enc.encode_architecture_range(lo, hi)  # type: ignore[arg-type]
    with pytest.raises(EncodingError, match="invalid"):
        enc.architecture_at(total)


def test_architecture_without_layers_is_an_encoding_error():
    space = SearchSpace.from_dict(
        {
            "name": "maybe-empty",
            "layer": {"kernel": [3, 5]},
            "stage": [{"min_layers": 0, "max_layers": 1}, {"min_layers": 0, "max_layers": 2}],
        }
    )
    enc = SequenceGraphEncoder(space)
    assert enc.architecture_at(0) == Architecture(((), ()))
    with pytest.raises(EncodingError, match=r"'\|' \(index 0\) has no layers"):
        enc.encode_architecture_range(0, 4)
    archs = list(space.enumerate_architectures())[1:]
    _assert_same(enc.encode_architecture_range(1, space.size()), enc.encode_batch(archs))


def test_interval_features_cannot_be_enumerated():
    space = SearchSpace.from_dict(
        {
            "name": "interval",
            "layer": {"kernel": [3, 5]},
            "global": {"res": {"type": "numeric", "min": 128, "max": 224}},
            "stage": [{"min_layers": 1, "max_layers": 2}],
        }
    )
    with pytest.raises(SearchSpaceError, match=r"'res'.*interval"):
        SequenceGraphEncoder(space).encode_architecture_range(0, 1)


def test_huge_indices_use_exact_integers():
    space = S.get("ofa-mbv3")
    enc = SequenceGraphEncoder(space)
    at = _reference(space)
    assert space.size() > 2**63
    last = space.size() - 1
    assert enc.architecture_at(last) == at(last)
    assert math.prod(len(s) for s in enc.architecture_at(last).stages) == 4**5
    batch = enc.encode_architecture_range(last - 2, last + 1)
    _assert_same(batch, enc.encode_batch([at(i) for i in range(last - 2, last + 1)]))
