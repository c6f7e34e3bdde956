"""One self-contained HTML page of an output folder (``autobuild report``).

:func:`write_html_report` reads the files a command wrote into its output folder and turns
them into ``report.html``: the folder's numbers as tables (sortable by clicking a column
header, with a few lines of inline JavaScript; the page reads just as well without it) and
its figures embedded as PNG ``data:`` URIs. The page needs no network: it names no external
URL and its Content-Security-Policy forbids loading anything.

The folders it knows (:data:`FOLDER_FILES` lists the files that identify each):

* ``demo`` -- ``autobuild demo``: the summary table and the demo's four figures;
* ``train`` -- a checkpoint: held-out metrics, the hop correlations, the configuration;
* ``ensemble`` -- an ensemble folder: its members and their held-out correlations;
* ``score`` -- module scores and feature importance;
* ``build`` -- the ranked architectures and the reduced space (top-K modules per unit);
* ``search`` -- the Pareto front and every evaluation.

A folder written by several commands (e.g. ``score`` and ``build`` with one ``--out``) gets
a section for each. :func:`write_study_report` does the same for a study in its storage.

Figures a folder already holds (``front.png``, the demo's PNGs) are embedded as they are;
the others are drawn from the folder's data, which needs matplotlib (``pip install
'autobuild[plot]'``). Without it the page still shows every table and says which figures
were left out and how to get them.

The package's modules: :mod:`~autobuild.reports.html.folder` (which folder is which, and
:func:`write_html_report`), :mod:`~autobuild.reports.html.sections` (one section of the page
per kind of folder), :mod:`~autobuild.reports.html.study` (:func:`write_study_report`),
:mod:`~autobuild.reports.html.files` (reading the folder's files) and
:mod:`~autobuild.reports.html.page` (the HTML itself: tables, figures, the page template).
"""

from __future__ import annotations

from autobuild.reports.html.folder import (
    FOLDER_FILES,
    REPORT_FILE,
    FolderKind,
    detect_kinds,
    write_html_report,
)
from autobuild.reports.html.page import MAX_ROWS
from autobuild.reports.html.study import write_study_report

__all__ = [
    "FOLDER_FILES",
    "MAX_ROWS",
    "REPORT_FILE",
    "FolderKind",
    "detect_kinds",
    "write_html_report",
    "write_study_report",
]
