"""NAS-Bench-Macro (Su et al., CVPR 2021): the CIFAR-10 macro space of 6561 keys.

Each of the 8 searchable slots (3 stages of 2, 3 and 3 slots) is ``0`` identity, ``1`` an
inverted-residual block with kernel 3 and expansion 3 (``mb3_k3``) or ``2`` one with kernel 5
and expansion 6 (``mb6_k5``). The first slot of every stage has stride 2 and doubles the
channels, so an identity there is a strided 1x1 convolution + BN projection (``proj``), a
real layer that stays a graph node. Identities elsewhere are true skips: a stage is the
sequence of its non-identity layers, and the 6561 keys name 3969 distinct architectures
(e.g. ``22212220`` and ``22212202`` are the same network). The authors' code dropped the
projection node as well and collapsed the space to 1574 graphs; we keep it.
"""

from __future__ import annotations

from typing import Any

from autobuild.spaces._space import Architecture, SearchSpace

__all__ = ["SLOTS", "nasbench_macro"]

#: Number of searchable slots per stage.
SLOTS = (2, 3, 3)
_OPS = {"1": "mb3_k3", "2": "mb6_k5"}
_DIGITS = {"proj": "0", "mb3_k3": "1", "mb6_k5": "2"}


class NasBenchMacroCodec:
    """Reads 8-digit NAS-Bench-Macro keys; writes the canonical key of an architecture.

    The canonical key keeps each stage's layers in order and puts its skips last
    (``22212202`` → ``22212220``).
    """

    def decode(self, space: SearchSpace, obj: Any) -> Architecture | None:
        """Return the architecture of an 8-digit key, or ``None`` if ``obj`` is not one."""
        if isinstance(obj, int) and not isinstance(obj, bool) and 0 <= obj < 10**8:
            obj = f"{obj:08d}"  # a key read as a number loses its leading zeros
        if not (isinstance(obj, str) and len(obj.strip()) == sum(SLOTS)):
            return None
        key = obj.strip()
        if set(key) - set("012"):
            return None
        stages = []
        start = 0
        for n in SLOTS:
            digits = key[start : start + n]
            start += n
            first = "proj" if digits[0] == "0" else _OPS[digits[0]]
            stages.append(((first,), *((_OPS[d],) for d in digits[1:] if d != "0")))
        return Architecture(tuple(tuple(s) for s in stages))

    def encode(self, space: SearchSpace, arch: Architecture) -> str | None:
        """The canonical 8-digit key of ``arch``."""
        out = []
        for n, layers in zip(SLOTS, arch.stages, strict=True):
            digits = "".join(_DIGITS[str(layer[0])] for layer in layers)
            out.append(digits.ljust(n, "0"))
        return "".join(out)


def nasbench_macro() -> SearchSpace:
    """The NAS-Bench-Macro space (3 stages; 3969 distinct architectures)."""
    mb = ["mb3_k3", "mb6_k5"]
    stages = [
        {
            "name": f"s{i + 1}",
            "min_layers": 1,
            "max_layers": n,
            "layer": {"op": mb},
            "first_layer": {"op": ["proj", *mb]},
        }
        for i, n in enumerate(SLOTS)
    ]
    return SearchSpace.from_dict(
        {
            "name": "nasbench-macro",
            "description": "NAS-Bench-Macro CIFAR-10 (Su et al. 2021): 6561 keys, 3969 networks",
            "stage": stages,
        },
        native=NasBenchMacroCodec(),
    )
