"""Reports of AutoBuild runs: figures (PNG), the Markdown report of ``autobuild demo`` and
one self-contained HTML page of any output folder or study (:func:`write_html_report`,
:func:`write_study_report`: ``autobuild report``).

The figures include the Pareto fronts of searches (:func:`plot_fronts`), drawn from the
results of :mod:`autobuild.search`.

The figures need matplotlib, an optional dependency (``pip install 'autobuild[plot]'``);
the plotting functions import it lazily and raise :class:`ImportError` with that hint when it
is missing, while :func:`write_demo_report` then writes its Markdown without figures.
"""

from __future__ import annotations

from autobuild.reports.chains import Chain, Chains, plot_subgraph_chains
from autobuild.reports.demo import write_demo_report
from autobuild.reports.fronts import plot_fronts
from autobuild.reports.html import write_html_report, write_study_report
from autobuild.reports.plots import (
    plot_accuracy_histogram,
    plot_feature_importance,
    plot_hop_spearman,
)

__all__ = [
    "Chain",
    "Chains",
    "plot_accuracy_histogram",
    "plot_feature_importance",
    "plot_fronts",
    "plot_hop_spearman",
    "plot_subgraph_chains",
    "write_demo_report",
    "write_html_report",
    "write_study_report",
]
