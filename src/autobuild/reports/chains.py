"""The best and worst subgraphs of each unit, drawn as chains of layer boxes (PNG).

:func:`plot_subgraph_chains` draws each subgraph as one row of rounded layer boxes joined by
arrows, coloured by the subgraph's score, grouped under their unit's name; :data:`Chain` and
:data:`Chains` are the shapes of its input. matplotlib is imported lazily.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from autobuild.reports._style import MUTED, format_layer, new_figure, require_matplotlib, save

__all__ = ["Chain", "Chains", "plot_subgraph_chains"]

#: One drawn subgraph: its layers (one ``{feature: value}`` mapping each) and its score.
Chain: TypeAlias = tuple[Sequence[Mapping[str, Any]], float]

#: Subgraphs to draw: ``chains[unit_name]["best" | "worst"]`` is a sequence of :data:`Chain`.
Chains: TypeAlias = Mapping[str, Mapping[str, Sequence[Chain]]]

_CHAR_W = 0.078  # inches per character at 9 pt (a generous average)
_LINE_H = 0.17  # inches per text line at 9 pt
_GAP = 0.38  # inches between boxes (room for the arrow)
_HEAD_H = 0.38  # inches of a unit heading
_LEFT = 0.85  # inches of the "best"/"worst" column
_SCORE_W = 0.85  # inches of the score column
_CBAR_H = 0.8  # inches reserved for the colorbar


def plot_subgraph_chains(
    path: str | Path,
    chains: Chains,
    value_range: tuple[float, float] | None = None,
    title: str = "Highest- and lowest-scored modules per stage",
    *,
    score_label: str = "module score (label units)",
) -> Path:
    """Draw subgraphs as chains of layer boxes, coloured by score, grouped per unit.

    Each subgraph is one row: its layers as rounded boxes joined by arrows (input side on the
    left), every box coloured by the subgraph's score through the viridis colormap, the score
    written at the right end. Rows are grouped under their unit's name, best ones first.

    Args:
        path: Output PNG file.
        chains: ``chains[unit_name]["best" | "worst"]``: sequences of ``(layers, score)`` where
            ``layers`` holds one ``{feature: value}`` mapping per layer (a unit of several
            stages is passed flattened). Either key may be missing.
        value_range: Score range of the colormap; default: the range of the drawn scores.
        title: Figure title.
        score_label: Label of the colorbar.

    Returns:
        The path of the written PNG.

    Raises:
        ImportError: matplotlib is not installed.
    """
    require_matplotlib()
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize, to_rgb
    from matplotlib.patches import FancyBboxPatch

    groups: list[tuple[str, list[tuple[str, Chain]]]] = []
    for unit, kinds in chains.items():
        rows = [(kind, chain) for kind in ("best", "worst") for chain in kinds.get(kind, ())]
        groups.append((str(unit), rows))
    all_chains = [chain for _, rows in groups for _, chain in rows]
    scores = [float(s) for _, s in all_chains if math.isfinite(s)]
    labels = [format_layer(layer) for layers, _ in all_chains for layer in layers]

    n_lines = max((label.count("\n") + 1 for label in labels), default=1)
    max_chars = max((len(line) for label in labels for line in label.split("\n")), default=4)
    box_w = max(0.75, _CHAR_W * max_chars + 0.3)
    box_h = 0.14 + _LINE_H * n_lines
    row_h = box_h + 0.14
    max_len = max((len(layers) for layers, _ in all_chains), default=1)
    chain_w = max_len * box_w + (max_len - 1) * _GAP
    width = max(6.0, _LEFT + chain_w + _SCORE_W + 0.25)
    body_h = 0.55 + sum(_HEAD_H + row_h * len(rows) + 0.1 for _, rows in groups)
    height = body_h + _CBAR_H

    if value_range is not None:
        lo, hi = (float(v) for v in value_range)
    elif scores:
        lo, hi = min(scores), max(scores)
    else:
        lo, hi = 0.0, 1.0
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    norm = Normalize(lo, hi)
    cmap = matplotlib.colormaps["viridis"]

    fig = new_figure(width, height, constrained=False)
    ax = fig.add_axes((0.0, _CBAR_H / height, 1.0, body_h / height))
    ax.set_xlim(0, width)
    ax.set_ylim(body_h, 0)  # y grows downwards, in inches
    ax.set_axis_off()
    ax.text(0.2, 0.3, title, fontsize=12, fontweight="bold", va="center")

    y = 0.55
    if not all_chains:
        ax.text(
            width / 2, body_h / 2, "no subgraphs to draw", ha="center", va="center", color=MUTED
        )
    for unit, rows in groups:
        ax.text(0.2, y + _HEAD_H * 0.55, unit, fontsize=11, fontweight="bold", va="center")
        ax.plot(
            [0.2 + 0.11 * len(unit) + 0.15, width - 0.2],
            [y + _HEAD_H * 0.55] * 2,
            color="0.85",
            linewidth=0.8,
        )
        y += _HEAD_H
        previous_kind = None
        for kind, (layers, score) in rows:
            if previous_kind == "best" and kind == "worst":
                ax.plot(
                    [_LEFT - 0.1, _LEFT + chain_w],
                    [y, y],
                    color="0.8",
                    linewidth=0.8,
                    linestyle=(0, (3, 3)),
                )
            previous_kind = kind
            yc = y + row_h / 2
            ax.text(
                _LEFT - 0.15,
                yc,
                kind,
                ha="right",
                va="center",
                fontsize=9,
                color="#2a7d3a" if kind == "best" else "#b03a2e",
            )
            finite = math.isfinite(score)
            face = cmap(norm(score)) if finite else (0.85, 0.85, 0.85, 1.0)
            r, g, b = to_rgb(face)
            ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"
            if not layers:
                ax.text(_LEFT, yc, "(no layers)", va="center", fontsize=9, color=MUTED)
            for i, layer in enumerate(layers):
                x0 = _LEFT + i * (box_w + _GAP)
                ax.add_patch(
                    FancyBboxPatch(
                        (x0, yc - box_h / 2),
                        box_w,
                        box_h,
                        boxstyle="round,pad=0,rounding_size=0.07",
                        facecolor=face,
                        edgecolor="0.25",
                        linewidth=0.8,
                    )
                )
                ax.text(
                    x0 + box_w / 2,
                    yc,
                    format_layer(layer),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color=ink,
                    linespacing=1.15,
                )
                if i:
                    ax.annotate(
                        "",
                        xy=(x0, yc),
                        xytext=(x0 - _GAP, yc),
                        arrowprops={
                            "arrowstyle": "-|>",
                            "color": "0.3",
                            "shrinkA": 1,
                            "shrinkB": 1,
                            "linewidth": 1.0,
                        },
                    )
            end = _LEFT + max(len(layers), 1) * (box_w + _GAP) - _GAP
            ax.text(
                end + 0.15,
                yc,
                f"{score:.2f}" if finite else "n/a",
                va="center",
                fontsize=9,
                fontweight="bold",
            )
            y += row_h
        y += 0.1

    bar_w = min(4.5, width - 1.0) / width
    cax = fig.add_axes(((1.0 - bar_w) / 2, 0.45 / height, bar_w, 0.16 / height))
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    cax.set_xlabel(score_label, fontsize=9)
    cax.tick_params(labelsize=8)
    return save(fig, path)
