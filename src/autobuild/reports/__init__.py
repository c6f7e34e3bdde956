"""Reports of AutoBuild runs: figures (PNG) and the Markdown report of ``autobuild demo``.

The figures need matplotlib, an optional dependency (``pip install 'autobuild[plot]'``);
the plotting functions import it lazily and raise :class:`ImportError` with that hint when it
is missing, while :func:`write_demo_report` then writes its Markdown without figures.
"""

from __future__ import annotations

from autobuild.reports.demo import FIGURES, markdown_table, write_demo_report
from autobuild.reports.plots import (
    MATPLOTLIB_HINT,
    Chain,
    Chains,
    plot_accuracy_histogram,
    plot_feature_importance,
    plot_hop_spearman,
    plot_subgraph_chains,
)

__all__ = [
    "FIGURES",
    "MATPLOTLIB_HINT",
    "Chain",
    "Chains",
    "markdown_table",
    "plot_accuracy_histogram",
    "plot_feature_importance",
    "plot_hop_spearman",
    "plot_subgraph_chains",
    "write_demo_report",
]
