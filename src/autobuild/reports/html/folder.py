"""Which command wrote an output folder, and the page of that folder (``autobuild report``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeAlias

from autobuild.exceptions import DataError
from autobuild.reports.html.page import _Section, _write_page
from autobuild.reports.html.sections import (
    _build_section,
    _demo_section,
    _ensemble_section,
    _score_section,
    _search_section,
    _train_section,
)

__all__ = ["FOLDER_FILES", "REPORT_FILE", "FolderKind", "detect_kinds", "write_html_report"]

#: The kinds of output folder :func:`write_html_report` knows.
FolderKind: TypeAlias = Literal["demo", "train", "ensemble", "score", "build", "search"]

#: The files that identify each kind of folder (all of them must be present).
FOLDER_FILES: dict[FolderKind, tuple[str, ...]] = {
    "demo": ("summary.json", "report.md"),
    "train": ("predictor.json", "metrics.json"),
    "ensemble": ("ensemble.json",),
    "score": ("feature_importance.csv", "value_importance.csv"),
    "build": ("built.csv",),
    "search": ("evaluated.csv", "pareto.json"),
}

_COMMAND_OF: dict[FolderKind, str] = {
    "demo": "autobuild demo",
    "train": "autobuild train",
    "ensemble": "autobuild ensemble",
    "score": "autobuild score",
    "build": "autobuild build",
    "search": "autobuild search",
}

#: Name of the page written into the folder by default.
REPORT_FILE = "report.html"


# The section of each kind of folder.
_SECTIONS: dict[FolderKind, Callable[[Path], _Section]] = {
    "demo": _demo_section,
    "train": _train_section,
    "ensemble": _ensemble_section,
    "score": _score_section,
    "build": _build_section,
    "search": _search_section,
}


def detect_kinds(folder: str | Path) -> tuple[FolderKind, ...]:
    """The kinds of output the folder holds (see :data:`FOLDER_FILES`), in report order.

    Args:
        folder: An output folder of ``autobuild train``, ``score``, ``build``, ``demo``,
            ``ensemble`` or ``search``.

    Returns:
        Every kind whose files are all in ``folder`` (at least one).

    Raises:
        DataError: ``folder`` is not a folder, or holds none of those sets of files (the
            message lists what each command writes).
    """
    path = Path(folder)
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise DataError(
            f"{path} {what}; give the output folder of an autobuild command "
            "(train, score, build, demo, ensemble or search)."
        )
    kinds = tuple(
        kind for kind, files in FOLDER_FILES.items() if all((path / f).is_file() for f in files)
    )
    if not kinds:
        expected = "; ".join(
            f"{_COMMAND_OF[k]}: {', '.join(files)}" for k, files in FOLDER_FILES.items()
        )
        raise DataError(
            f"{path} holds no output of an autobuild command; expected the files of one of "
            f"them ({expected}). Give the --out folder of such a command."
        )
    return kinds


def write_html_report(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Write one self-contained HTML page of an output folder.

    Args:
        folder: Output folder of ``autobuild train``, ``score``, ``build``, ``demo``,
            ``ensemble`` or ``search`` (several of them in one folder get a section each).
        out: The HTML file to write (atomically); default: ``FOLDER/report.html``.
        title: Title of the page; default: names the folder.

    Returns:
        The path of the written page.

    Raises:
        DataError: ``folder`` is not an output folder of those commands, or one of its files
            cannot be read.
    """
    path = Path(folder)
    kinds = detect_kinds(path)
    sections = [_SECTIONS[kind](path) for kind in kinds]
    page_title = title or f"AutoBuild report: {path.resolve().name}"
    intro = f"Output of {', '.join(_COMMAND_OF[k] for k in kinds)} in {path}."
    target = Path(out) if out is not None else path / REPORT_FILE
    return _write_page(target, page_title, intro, sections, path)
