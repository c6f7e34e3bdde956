"""Text output of the command line: tables and short formatted values on stdout."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["best_text", "big_number", "print_table"]


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


def big_number(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"{n:.3e} (~10^{int(math.log10(n))})"


def best_text(direction: str) -> str:
    return "lowest" if direction == "min" else "highest"
