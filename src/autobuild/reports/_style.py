"""Style shared by the figures of :mod:`autobuild.reports`: resolution, colours, helpers.

A private module of the package: the figures' common resolution (:data:`DPI`), colours,
the lazy import of matplotlib (:func:`require_matplotlib`, raising :class:`ImportError` with
:data:`MATPLOTLIB_HINT`), figure creation and atomic saving, axes styling, and the text
forms of scores, ordinals and feature values.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from autobuild._atomic import atomic_path

__all__ = [
    "ACCENT",
    "BAR",
    "CATEGORY_COLOURS",
    "DPI",
    "GRID",
    "MARK_STYLES",
    "MATPLOTLIB_HINT",
    "MUTED",
    "format_layer",
    "format_value",
    "new_figure",
    "ordinal",
    "require_matplotlib",
    "save",
    "short",
    "style_axes",
    "wrap",
]

#: Resolution of every figure, in dots per inch.
DPI = 120

#: Message of the :class:`ImportError` raised when matplotlib is not installed.
MATPLOTLIB_HINT = "Plots need matplotlib: pip install 'autobuild[plot]'"

# Colours shared by the figures (a muted, colour-blind-friendlier take on tab10).
BAR = "#4C72B0"
ACCENT = "#DD8452"
MUTED = "0.45"
GRID = "0.88"
CATEGORY_COLOURS = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#8C8C8C",
    "#CCB974",
    "#64B5CD",
)
MARK_STYLES = ("-", "--", ":", "-.")


def require_matplotlib() -> None:
    """Import matplotlib or raise :class:`ImportError` with the installation hint."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError as exc:
        raise ImportError(MATPLOTLIB_HINT) from exc


def new_figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    """A white figure of ``width`` x ``height`` inches at :data:`DPI` (needs matplotlib)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically; parent folders are created."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, facecolor="white")
    return Path(path)


def short(x: float) -> str:
    """A score with 2 decimals, or 3 significant digits when very small or large."""
    return f"{x:.2f}" if 0.01 <= abs(x) < 1000 else f"{x:.3g}"


def ordinal(n: float) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``2.5th``."""
    if n != int(n):
        return f"{n:g}th"
    k = int(n)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def style_axes(ax: Axes, *, grid_axis: Literal["x", "y"] = "y") -> None:
    """The figures' axes style: no top and right spines, a light grid behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def wrap(text: str, width_in: float, fontsize: float = 11.0) -> str:
    """Wrap ``text`` into lines that fit ``width_in`` inches at ``fontsize`` points."""
    chars = max(20, int(width_in * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))


def format_value(value: Any) -> str:
    """Short display form of a feature value (``6``, ``0.25``, ``mb6_k5``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def format_layer(layer: Mapping[str, Any]) -> str:
    """Display form of one layer: the value alone for one feature, else ``k=v`` lines."""
    if len(layer) == 1:
        return format_value(next(iter(layer.values())))
    return "\n".join(f"{k}={format_value(v)}" for k, v in layer.items())
