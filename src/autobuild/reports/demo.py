"""The report folder of ``autobuild demo``: a Markdown page with four figures.

:func:`write_demo_report` turns the results of a demo run (what was built and how good it is,
per-hop correlations, feature importance, best and worst modules, where the built
architectures land in the space's accuracy distribution) into ``report.md`` plus one PNG per
figure. Without matplotlib the Markdown is still written, with the numbers as text and a hint
on how to get the figures.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autobuild._atomic import write_text_atomic
from autobuild.reports import plots
from autobuild.reports._style import format_layer, format_value
from autobuild.reports.chains import Chains, plot_subgraph_chains

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from autobuild.scoring.tables import FeatureImportance

__all__ = ["FIGURES", "format_cell", "markdown_table", "write_demo_report"]

logger = logging.getLogger(__name__)

#: File names of the report's figures, by role.
FIGURES = {
    "hop_spearman": "hop_spearman.png",
    "feature_importance": "feature_importance.png",
    "subgraphs": "subgraphs.png",
    "accuracy_histogram": "accuracy_histogram.png",
}

_CAPTIONS = {
    "hop_spearman": (
        "Each bar is the Spearman correlation between the L1 norm of the graph embedding at "
        "that hop and the true accuracy on the architectures not used for training: the higher "
        "the bar, the better that hop's norm ranks architectures, and so the more its scores "
        "of modules can be trusted (hop m scores the modules of m + 1 layers)."
    ),
    "feature_importance": (
        "Left: the mean share of a node's hop-0 embedding norm that each feature category "
        "contributes; right: the scalar the predictor's feature MLP gives each value, grouped "
        "by category: a longer bar means the value raises the embedding norm, and so the "
        "scores of the modules that contain it, more."
    ),
    "subgraphs": (
        "Each row is one module (stage subgraph) drawn as its chain of layers from input to "
        "output, coloured and labelled by its score in label units; for every stage the "
        "highest-scored modules are on top and the lowest-scored below."
    ),
    "accuracy_histogram": (
        "The histogram counts the true accuracy of every architecture of the space (log "
        "scale, zoomed to the top of the distribution) and each vertical line marks where a "
        "built or reference architecture lands: the further right, the better."
    ),
}

_HINT = "Figures were not drawn: plots need matplotlib (`pip install 'autobuild[plot]'`)."


def format_cell(key: str, value: Any) -> str:
    """Markdown form of one table cell.

    Accuracy-like columns (their name contains ``acc``) get 2 decimals, other floats their
    shortest form (``1.5``, ``3281``), missing and NaN values a dash; ``|`` is escaped.
    """
    if isinstance(value, np.generic):  # numpy scalars format like Python ones
        value = value.item()
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if "acc" in key.lower():
            return f"{value:.2f}"
        return f"{value:.6g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of ``rows``: the union of their keys (first-seen order) as header.

    Columns whose values are all numbers are right-aligned.
    """
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    if not keys:
        return ""

    def numeric(k: str) -> bool:
        present = [r[k] for r in rows if r.get(k) is not None]
        return bool(present) and all(
            isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            for v in present
        )

    lines = [
        "| " + " | ".join(k.replace("|", "\\|") for k in keys) + " |",
        "|" + "|".join("---:" if numeric(k) else "---" for k in keys) + "|",
    ]
    lines += ["| " + " | ".join(format_cell(k, r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def write_demo_report(
    out_dir: str | Path,
    *,
    title: str,
    summary_table: Sequence[Mapping[str, Any]],
    hop_srcc: Sequence[float],
    predictor_srcc: float | None,
    feature_importance: FeatureImportance,
    chains: Chains,
    space_values: Sequence[float] | NDArray[np.floating[Any]],
    marks: Mapping[str, float],
    notes: Sequence[str] = (),
    reference_srcc: Sequence[float] | None = None,
) -> Path:
    """Write ``report.md`` and its four figures into ``out_dir``.

    Args:
        out_dir: Report folder (created if needed); existing files of the same names are
            replaced atomically.
        title: Title of the report.
        summary_table: One row per result (same keys in every row, e.g. ``what``, ``arch``,
            ``accuracy``, ``rank``, ``evaluations``), rendered as a Markdown table.
        hop_srcc: Spearman correlation of each hop's embedding norm with the target on the
            architectures not used for training (NaN: not available).
        predictor_srcc: Spearman correlation of the predictor's output, if known.
        feature_importance: FE-MLP feature importance of the predictor.
        chains: Best and worst subgraphs per unit (see
            :func:`autobuild.reports.chains.plot_subgraph_chains`).
        space_values: True value (accuracy) of every architecture of the space.
        marks: ``{name: value}`` to mark on the accuracy histogram.
        notes: Free-text remarks, listed as bullets at the end.
        reference_srcc: Published per-hop correlations to draw next to ``hop_srcc``.

    Returns:
        The path of ``report.md``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    drawn = _draw_figures(
        out,
        hop_srcc=hop_srcc,
        predictor_srcc=predictor_srcc,
        reference_srcc=reference_srcc,
        feature_importance=feature_importance,
        chains=chains,
        space_values=space_values,
        marks=marks,
    )

    md: list[str] = [f"# {title}", ""]
    if not drawn:
        md += [f"> {_HINT}", ""]
    md += ["## Summary", "", markdown_table(summary_table) or "_No results._", ""]

    md += ["## Which hop ranks architectures best?", ""]
    extra = []
    if predictor_srcc is not None:
        extra.append("The orange bar is the predictor's own output, for comparison.")
    if reference_srcc is not None:
        extra.append("Black ticks are reference values.")
    md += _figure(drawn, "hop_spearman", "Spearman correlation per hop", " ".join(extra))
    hops = ", ".join(f"hop {i}: {_num(v)}" for i, v in enumerate(hop_srcc))
    pred = f"; prediction: {_num(predictor_srcc)}" if predictor_srcc is not None else ""
    md += [f"Spearman correlations — {hops or 'none'}{pred}.", ""]

    md += ["## Feature importance", ""]
    md += _figure(drawn, "feature_importance", "Feature importance per category and value")
    md += _feature_text(feature_importance)

    md += ["## Best and worst modules", ""]
    md += _figure(drawn, "subgraphs", "Highest- and lowest-scored modules per stage")
    if not drawn:
        md += _chains_text(chains)

    md += ["## Where the results land in the space", ""]
    md += _figure(drawn, "accuracy_histogram", "Accuracy distribution of the space")
    if not drawn and marks:
        md += [f"- {name}: {_num(v)}" for name, v in marks.items()] + [""]

    if notes:
        md += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return write_text_atomic(out / "report.md", "\n".join(md).rstrip("\n") + "\n")


def _draw_figures(
    out: Path,
    *,
    hop_srcc: Sequence[float],
    predictor_srcc: float | None,
    reference_srcc: Sequence[float] | None,
    feature_importance: FeatureImportance,
    chains: Chains,
    space_values: Sequence[float] | NDArray[np.floating[Any]],
    marks: Mapping[str, float],
) -> bool:
    """Draw the four figures; False (with one warning) when matplotlib is missing."""
    try:
        plots.plot_hop_spearman(
            out / FIGURES["hop_spearman"], hop_srcc, predictor_srcc, reference=reference_srcc
        )
        plots.plot_feature_importance(out / FIGURES["feature_importance"], feature_importance)
        plot_subgraph_chains(out / FIGURES["subgraphs"], chains)
        plots.plot_accuracy_histogram(out / FIGURES["accuracy_histogram"], space_values, marks)
    except ImportError as exc:
        logger.warning("%s; writing the report without figures.", exc)
        return False
    return True


def _figure(drawn: bool, key: str, alt: str, extra: str = "") -> list[str]:
    if not drawn:
        return []
    caption = f"{_CAPTIONS[key]} {extra}".strip()
    return [f"![{alt}]({FIGURES[key]})", "", f"*{caption}*", ""]


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"


def _feature_text(importance: FeatureImportance) -> list[str]:
    categories = sorted(importance.categories, key=lambda c: -c.share)
    order = [c.category for c in categories]
    order += sorted({v.category for v in importance.values} - set(order))
    share = {c.category: c.share for c in categories}
    lines = []
    for cat in order:
        values = [v for v in importance.values if v.category == cat]
        part = f"{share[cat]:.0%} of the norm" if cat in share else "share n/a"
        if values:
            top = max(values, key=lambda v: v.score)
            lines.append(
                f"- **{cat}** ({part}): top value `{format_value(top.value)}` "
                f"(score {top.score:.3g}, seen {top.count}×)"
            )
        else:
            lines.append(f"- **{cat}** ({part})")
    if not lines:
        return ["_No feature importance available._", ""]
    return [
        "Top value per category (categories by their share of the hop-0 norm):",
        "",
        *lines,
        "",
    ]


def _chains_text(chains: Chains) -> list[str]:
    lines = []
    for unit, kinds in chains.items():
        for kind in ("best", "worst"):
            for layers, score in kinds.get(kind, ()):
                arch = " → ".join(format_layer(layer).replace("\n", " ") for layer in layers)
                lines.append(f"- {unit} {kind}: {arch or '(no layers)'} — score {_num(score)}")
    return [*lines, ""] if lines else []
