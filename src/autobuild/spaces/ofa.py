"""Once-for-All macro spaces (Cai et al., ICLR 2020): OFA-MobileNetV3 and OFA-ProxylessNAS.

Every searchable layer is an MBConv block with expansion ``e`` in {3, 4, 6} and kernel ``k``
in {3, 5, 7}. MobileNetV3 has 5 stages of 2-4 blocks; ProxylessNAS has 5 such stages and a
sixth stage of exactly one block, which AutoBuild scores together with stage 5 (one unit).
The fixed stem, first block and head are not part of the graph. Input resolution is a global
feature (128 to 224 in steps of 4, default 224). ``build_model`` returns the OFA subnet
(:mod:`autobuild.networks.ofa`: w1.2 MobileNetV3, w1.3 ProxylessNAS).

Besides the JSON form, both spaces read OFA's own architecture dict
``{"ks": [...], "e": [...], "d": [...], "r": 224}`` (``ks``/``e`` are flat lists of 4 slots
per stage, slots past a stage's depth are ignored; ``r`` may be a one-item list, as OFA's
samplers write it) and the reference code's nested lists of block strings such as
``"mbconv3_e4_k5"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from autobuild.spaces._space import Architecture, SearchSpace

__all__ = ["ofa_mbv3", "ofa_pn"]

RESOLUTIONS = list(range(128, 225, 4))
SLOTS_PER_STAGE = 4
_BLOCK = re.compile(r"^mbconv(\d+)_e(\d+)_k(\d+)$")


class OFACodec:
    """Reads OFA ``ks``/``e``/``d`` dicts and block-string lists; writes no native id."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def decode(self, space: SearchSpace, obj: Any) -> Architecture | None:
        """Return the architecture of an OFA dict or block-string list, else ``None``."""
        if isinstance(obj, Mapping) and {"ks", "e", "d"} <= set(obj):
            return self._from_ofa_dict(space, obj)
        if isinstance(obj, Sequence) and not isinstance(obj, str) and _is_block_lists(obj):
            stages = tuple(tuple(_parse_block(b) for b in st) for st in obj)
            return Architecture(stages, (_default_res(space),))
        return None

    def encode(self, space: SearchSpace, arch: Architecture) -> str | None:
        """OFA spaces have no native id; the canonical id is used."""
        return None

    def _from_ofa_dict(self, space: SearchSpace, obj: Mapping[str, Any]) -> Architecture:
        from autobuild.exceptions import SearchSpaceError

        d, ks, e = list(obj["d"]), list(obj["ks"]), list(obj["e"])
        n = space.num_stages
        last = space.stages[-1]
        if len(d) == n - 1 and last.min_layers == last.max_layers:
            d.append(last.min_layers)  # ProxylessNAS dicts may omit the fixed last stage
        if len(d) != n:
            raise SearchSpaceError(
                f"OFA dict has {len(d)} depths in 'd'; space {space.name!r} has {n} stages."
            )
        slots = (n - 1) * SLOTS_PER_STAGE + int(space.stages[-1].max_layers)
        if len(ks) < slots or len(e) < slots:
            raise SearchSpaceError(
                f"OFA dict needs at least {slots} entries in 'ks' and 'e' "
                f"({SLOTS_PER_STAGE} slots per stage), got {len(ks)} and {len(e)}."
            )
        stages = []
        for s, depth in enumerate(d):
            if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
                raise SearchSpaceError(f"OFA depth d[{s}] must be an integer >= 0, got {depth!r}.")
            stage = space.stages[s]
            width = SLOTS_PER_STAGE if s < n - 1 else stage.max_layers
            if depth > width:  # more layers than the stage has slots
                raise SearchSpaceError(
                    f"Stage {s + 1} ({stage.name!r}) has {depth} layers; space {space.name!r} "
                    f"allows {stage.min_layers} to {stage.max_layers}."
                )
            base = s * SLOTS_PER_STAGE
            stages.append(tuple((e[base + j], ks[base + j]) for j in range(depth)))
        res = obj.get("r", obj.get("resolution", _default_res(space)))
        if isinstance(res, Sequence) and not isinstance(res, str) and len(res) == 1:
            res = res[0]  # OFA's samplers write the resolution as a one-item list: "r": [224]
        return Architecture(tuple(stages), (res,))

    def to_ofa_dict(self, space: SearchSpace, arch: Architecture) -> dict[str, Any]:
        """OFA's ``ks``/``e``/``d``/``r`` dict (inactive slots padded with 0)."""
        ks: list[Any] = []
        e: list[Any] = []
        for s, layers in enumerate(arch.stages):
            width = SLOTS_PER_STAGE if s < space.num_stages - 1 else space.stages[s].max_layers
            e += [layer[0] for layer in layers] + [0] * (width - len(layers))
            ks += [layer[1] for layer in layers] + [0] * (width - len(layers))
        return {"ks": ks, "e": e, "d": list(arch.depths), "r": arch.globals[0]}


def _is_block_lists(obj: Sequence[Any]) -> bool:
    return all(
        isinstance(st, Sequence)
        and not isinstance(st, str)
        and all(isinstance(b, str) and _BLOCK.match(b) for b in st)
        for st in obj
    ) and any(len(st) for st in obj)


def _parse_block(block: str) -> tuple[int, int]:
    m = _BLOCK.match(block)
    assert m is not None  # checked by _is_block_lists
    return int(m.group(2)), int(m.group(3))


def _default_res(space: SearchSpace) -> Any:
    return getattr(space.global_features[0], "default", None)


def _space(
    name: str,
    description: str,
    depths: list[tuple[int, int]],
    units: Any,
    prefix: str,
) -> SearchSpace:
    spec: dict[str, Any] = {
        "name": name,
        "description": description,
        "layer": {"expand": [3, 4, 6], "kernel": [3, 5, 7]},
        "global": {"resolution": {"type": "numeric", "values": RESOLUTIONS, "default": 224}},
        "stage": [
            {"name": f"s{i + 1}", "min_layers": lo, "max_layers": hi}
            for i, (lo, hi) in enumerate(depths)
        ],
    }
    if units is not None:
        spec["units"] = units
    return SearchSpace.from_dict(spec, native=OFACodec(prefix))


def ofa_mbv3() -> SearchSpace:
    """OFA-MobileNetV3: 5 stages of 2-4 MBConv blocks (7,371 subgraphs per stage)."""
    return _space(
        "ofa-mbv3",
        "Once-for-All MobileNetV3 (w1.2): 5 stages x 2-4 MBConv blocks, e{3,4,6} k{3,5,7}",
        [(2, 4)] * 5,
        None,
        "mbconv3",
    )


def ofa_pn() -> SearchSpace:
    """OFA-ProxylessNAS: 5 stages of 2-4 blocks + 1 block; stages 5 and 6 form one unit."""
    return _space(
        "ofa-pn",
        "Once-for-All ProxylessNAS (w1.3): 5 stages x 2-4 MBConv blocks + 1 block",
        [(2, 4)] * 5 + [(1, 1)],
        [["s1"], ["s2"], ["s3"], ["s4"], ["s5", "s6"]],
        "mbconv2",
    )
