"""Figures of an AutoBuild run, each written to one PNG file.

Every function here draws one figure from plain data, keeps no state, and writes it atomically
(a temporary file in the target folder, then a rename), so a reader never sees a half-written
image. Figures are built with matplotlib's object API (:class:`matplotlib.figure.Figure`), which
touches neither pyplot nor the global backend, so the functions are safe to call from a library,
a notebook or a headless server alike.

matplotlib is an optional dependency (the ``plot`` extra), imported lazily: every function
raises :class:`ImportError` with an installation hint when it is missing.

The figures share the style of :mod:`autobuild.reports._style`; the subgraph chains
(:func:`plot_subgraph_chains`) are drawn by :mod:`autobuild.reports.chains` and the Pareto
fronts of searches by :mod:`autobuild.reports.fronts`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from autobuild.reports._style import (
    ACCENT,
    BAR,
    CATEGORY_COLOURS,
    DPI,
    MARK_STYLES,
    MATPLOTLIB_HINT,
    MUTED,
    format_layer,
    format_value,
    new_figure,
    ordinal,
    save,
    short,
    style_axes,
    wrap,
)
from autobuild.reports.chains import Chain, Chains, plot_subgraph_chains
from autobuild.scoring.tables import FeatureImportance

__all__ = [
    "DPI",
    "MATPLOTLIB_HINT",
    "Chain",
    "Chains",
    "format_layer",
    "format_value",
    "plot_accuracy_histogram",
    "plot_feature_importance",
    "plot_hop_spearman",
    "plot_subgraph_chains",
]

# --------------------------------------------------------------------------------------------
# Spearman correlation per hop
# --------------------------------------------------------------------------------------------


def plot_hop_spearman(
    path: str | Path,
    hop_srcc: Sequence[float],
    predictor_srcc: float | None = None,
    reference: Sequence[float] | None = None,
    title: str = "Spearman correlation of each hop's embedding norm with the target",
    *,
    reference_label: str = "reference",
) -> Path:
    """Bar chart of the Spearman correlation of each hop's embedding norm with the target.

    Args:
        path: Output PNG file.
        hop_srcc: Spearman correlation of hops ``0..M`` (NaN: not available, drawn as missing).
        predictor_srcc: Spearman correlation of the predictor's output; drawn as an extra
            ``prediction`` bar when given.
        reference: Values to compare with (e.g. the published ones), one per bar in the same
            order (hops, then the prediction); drawn as black ticks. NaN entries are skipped.
        title: Figure title.
        reference_label: Legend entry of the reference ticks.

    Returns:
        The path of the written PNG.

    Raises:
        ImportError: matplotlib is not installed.
    """
    labels = [f"hop {i}" for i in range(len(hop_srcc))]
    values = [float(v) for v in hop_srcc]
    colours = [BAR] * len(values)
    if predictor_srcc is not None:
        labels.append("prediction")
        values.append(float(predictor_srcc))
        colours.append(ACCENT)

    width = max(5.0, 1.2 + 0.8 * len(values))
    fig = new_figure(width, 4.2)
    ax = fig.add_subplot()
    style_axes(ax)
    x = list(range(len(values)))
    finite = [v for v in values if math.isfinite(v)]
    refs = [float(r) for r in (reference or [])][: len(values)]
    lowest = min([0.0, *finite, *(r for r in refs if math.isfinite(r))])
    bottom = 0.0 if lowest >= 0 else lowest - 0.12
    ax.set_ylim(bottom, 1.0)
    span = 1.0 - bottom

    bar_w = 0.7
    for xi, v, colour in zip(x, values, colours, strict=True):
        if not math.isfinite(v):
            ax.text(
                xi,
                0.02 * span,
                "n/a",
                ha="center",
                va="bottom",
                color=MUTED,
                fontsize=9,
                fontstyle="italic",
            )
            continue
        ax.bar(xi, v, width=bar_w, color=colour)
        ref = refs[xi] if xi < len(refs) and math.isfinite(refs[xi]) else v
        label = f"{v:.2f}"
        if v < 0:  # below the bar (and below its reference tick)
            ax.text(xi, min(v, ref) - 0.015 * span, label, ha="center", va="top", fontsize=9)
        elif max(v, ref) + 0.075 * span <= 1.0:  # above the bar and its reference tick
            ax.text(xi, max(v, ref) + 0.015 * span, label, ha="center", va="bottom", fontsize=9)
        else:  # no room above: inside the bar, under its reference tick
            ax.text(
                xi,
                min(v, ref) - 0.02 * span,
                label,
                ha="center",
                va="top",
                color="white",
                fontsize=9,
            )

    ref_x = [xi for xi, r in zip(x, refs, strict=False) if math.isfinite(r)]
    ref_y = [r for r in refs if math.isfinite(r)]
    if ref_x:
        ax.hlines(
            ref_y,
            [xi - bar_w / 2 for xi in ref_x],
            [xi + bar_w / 2 for xi in ref_x],
            colors="black",
            linewidth=2.2,
            zorder=3,
            label=reference_label,
        )
        ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none", fontsize=9)

    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_xticks(x, labels)
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_ylabel("Spearman correlation with target")
    ax.set_title(wrap(title, width), fontsize=11)
    return save(fig, path)


# --------------------------------------------------------------------------------------------
# Feature importance
# --------------------------------------------------------------------------------------------


def plot_feature_importance(
    path: str | Path,
    importance: FeatureImportance,
    title: str = "What the predictor's feature embedding (FE-MLP) weighs most",
) -> Path:
    """Two panels: the share of each feature category, and the score of each value.

    The left panel ranks categories by their mean share of a node's hop-0 L1 norm; the right
    one shows each value's scalar ``|f_c(value)|``, grouped by category (in the left panel's
    order, one colour per category) and sorted within each category.

    Args:
        path: Output PNG file.
        importance: Feature importance of a fitted predictor.
        title: Figure title.

    Returns:
        The path of the written PNG.

    Raises:
        ImportError: matplotlib is not installed.
    """
    categories = sorted(importance.categories, key=lambda c: -c.share)
    order = [c.category for c in categories]
    for v in importance.values:  # values of a category without a share row: append
        if v.category not in order:
            order.append(v.category)
    colour_of = {c: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, c in enumerate(order)}
    rows = [
        v
        for cat in order
        for v in sorted(
            (v for v in importance.values if v.category == cat), key=lambda v: -v.score
        )
    ]

    n_rows = max(len(categories), len(rows), 1)
    fig = new_figure(10.0, max(3.0, 1.3 + 0.3 * n_rows))
    left, right = fig.subplots(1, 2, width_ratios=(1.0, 1.35))
    fig.suptitle(title, fontsize=11)

    style_axes(left, grid_axis="x")
    if categories:
        y = np.arange(len(categories))
        shares = [c.share for c in categories]
        left.barh(y, shares, color=[colour_of[c.category] for c in categories], height=0.55)
        left.set_yticks(y, [c.category for c in categories])
        left.set_xlim(0, max(shares) * 1.22 if max(shares) > 0 else 1.0)
        for yi, s in zip(y, shares, strict=True):
            left.text(s, yi, f" {s:.0%}", va="center", fontsize=9)
        left.invert_yaxis()
    else:
        left.text(
            0.5,
            0.5,
            "no categories",
            ha="center",
            va="center",
            color=MUTED,
            transform=left.transAxes,
        )
        left.set_yticks([])
    left.set_xlabel("share of the hop-0 L1 norm")
    left.set_title("per category", fontsize=10)
    left.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")

    style_axes(right, grid_axis="x")
    if rows:
        y = np.arange(len(rows))
        scores = [v.score for v in rows]
        right.barh(y, scores, color=[colour_of[v.category] for v in rows], height=0.65)
        right.set_yticks(y, [f"{v.category}={format_value(v.value)}" for v in rows])
        top = max(scores) if max(scores) > 0 else 1.0
        right.set_xlim(0, top * 1.3)
        for yi, v in zip(y, rows, strict=True):
            right.text(
                v.score,
                yi,
                f" {short(v.score)}  (n={v.count})",
                va="center",
                fontsize=8,
                color="0.2",
            )
        for k, (a, b) in enumerate(itertools.pairwise(rows)):
            if a.category != b.category:
                right.axhline(k + 0.5, color="0.75", linewidth=0.8)
        right.invert_yaxis()
    else:
        right.text(
            0.5,
            0.5,
            "no values",
            ha="center",
            va="center",
            color=MUTED,
            transform=right.transAxes,
        )
        right.set_yticks([])
    right.set_xlabel("|f_c(value)|   (n = training nodes with that value)")
    right.set_title("per value", fontsize=10)
    return save(fig, path)


# --------------------------------------------------------------------------------------------
# Accuracy histogram
# --------------------------------------------------------------------------------------------


_HIST_AXES_W = 7.0  # inches: approximate width of the histogram's axes
_LABEL_STEP = 0.075  # axes fraction between two levels of mark labels


def _headroom(ax: Axes, data_top: float, fraction: float, *, log: bool) -> None:
    """Raise the y-limit so that ``data_top`` sits at ``fraction`` of the axes height."""
    bottom = ax.get_ylim()[0]
    fraction = min(max(fraction, 0.4), 0.95)
    if log:
        bottom = max(bottom, 0.5)
        lb, lt = math.log10(bottom), math.log10(max(data_top, bottom * 1.01))
        ax.set_ylim(bottom, 10 ** (lb + (lt - lb) / fraction))
    else:
        ax.set_ylim(bottom, data_top / fraction)


def plot_accuracy_histogram(
    path: str | Path,
    values: Sequence[float] | NDArray[np.floating[Any]],
    marks: Mapping[str, float],
    xlabel: str = "CIFAR-10 accuracy (%)",
    log: bool = True,
    title: str | None = None,
    *,
    low_percentile: float = 1.0,
    bins: int = 60,
) -> Path:
    """Histogram of a space's accuracies, with marks for chosen architectures.

    The x-axis is zoomed to ``[percentile(low_percentile), max]`` (widened to show every
    mark); the title says so and how many values fall below. Counts are log-scaled by default,
    since accuracy distributions have long left tails.

    Args:
        path: Output PNG file.
        values: One value per architecture of the space (NaNs are ignored).
        marks: ``{name: value}`` to draw as vertical lines (distinct colours and dash
            patterns; the legend gives ``name (value)``). Coinciding marks stay legible.
        xlabel: Label of the x-axis.
        log: Log-scale the counts.
        title: Figure title; default: describes the space and the zoom.
        low_percentile: Lower end of the zoom, as a percentile of ``values``.
        bins: Number of bins over the zoomed range.

    Returns:
        The path of the written PNG.

    Raises:
        ImportError: matplotlib is not installed.
    """
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    finite_marks = {k: float(v) for k, v in marks.items() if math.isfinite(v)}
    fig = new_figure(8.0, 4.6)
    ax = fig.add_subplot()
    style_axes(ax)

    if data.size:
        lo = float(np.percentile(data, low_percentile))
        hi = float(data.max())
    else:
        lo, hi = 0.0, 1.0
    mark_values = list(finite_marks.values())
    x_lo = min([lo, *mark_values])
    x_hi = max([hi, *mark_values])
    if not x_hi > x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    pad = 0.02 * (x_hi - x_lo)
    shown = data[data >= x_lo]
    top_count = 0.0
    if shown.size:
        counts, _, _ = ax.hist(
            shown,
            bins=bins,
            range=(x_lo, max(x_hi, float(shown.max()))),
            color="#9db4d3",
            edgecolor="white",
            linewidth=0.4,
            log=log,
            label=f"all architectures ({data.size})",
        )
        top_count = float(np.max(counts))
    ax.set_xlim(x_lo - pad, x_hi + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("architectures" + (" (log scale)" if log else ""))
    if title is None:
        below = int(np.sum(data < x_lo))
        title = (
            f"Distribution of the {data.size} architectures of the space\n"
            f"x-axis zoomed to the {ordinal(low_percentile)} percentile–max "
            f"({x_lo:.4g}–{x_hi:.4g}): "
            + (f"{below} lower values not shown" if below else "all values shown")
        )
    ax.set_title(title, fontsize=10)

    # Marks: colour and dash pattern in the caller's order; solid lines lowest, so coinciding
    # marks show as alternating dashes. Labels go on the first level (from the top) where they
    # overlap no other label.
    colours, zorders = {}, {}
    for i, (name, v) in enumerate(finite_marks.items()):
        colours[name] = CATEGORY_COLOURS[(i + 1) % len(CATEGORY_COLOURS)]
        style = MARK_STYLES[i % len(MARK_STYLES)]
        zorders[name] = 3 + i % len(MARK_STYLES)
        ax.axvline(
            v,
            color=colours[name],
            linestyle=style,
            zorder=zorders[name],
            linewidth=2.4 if style == "-" else 2.0,
            label=f"{name} ({v:.2f})",
        )
    # Label extents in data units (approximate text width: 0.6 em per character).
    x_span = x_hi - x_lo + 2 * pad
    per_char = 0.6 * 8.5 / 72 * x_span / _HIST_AXES_W
    levels: list[list[tuple[float, float]]] = []  # per level: occupied x intervals
    for name, v in sorted(finite_marks.items(), key=lambda kv: kv[1]):
        right_half = v > (x_lo + x_hi) / 2
        w = (len(name) + 1) * per_char
        extent = (v - w, v) if right_half else (v, v + w)
        level = next(
            (
                k
                for k, taken in enumerate(levels)
                if all(extent[1] < a or extent[0] > b for a, b in taken)
            ),
            len(levels),
        )
        if level == len(levels):
            levels.append([])
        levels[level].append(extent)
        ax.annotate(
            name,
            xy=(v, 1.0 - _LABEL_STEP * level),
            xycoords=("data", "axes fraction"),
            xytext=(-4 if right_half else 4, -6),
            textcoords="offset points",
            ha="right" if right_half else "left",
            va="top",
            fontsize=8.5,
            color=colours[name],
            fontweight="bold",
            zorder=10,
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
        )
    if top_count > 0:  # headroom above the bars for the labels
        _headroom(ax, top_count, 1.0 - (0.04 + _LABEL_STEP * len(levels)), log=log)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", frameon=True, fontsize=8.5, framealpha=0.9)
    return save(fig, path)
