"""The search package's import layering: light to import, below :mod:`autobuild.reports`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import autobuild.reports
import autobuild.search
import autobuild.search.nsga


def test_import_search_loads_neither_pymoo_nor_reports() -> None:
    code = (
        "import sys, autobuild.search\n"
        "print([m for m in ('pymoo', 'matplotlib', 'torch', 'autobuild.reports') "
        "if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_public_names_stay_reachable() -> None:
    for name in autobuild.search.nsga.__all__:
        assert getattr(autobuild.search.nsga, name) is getattr(autobuild.search, name)
    assert "plot_fronts" not in autobuild.search.__all__
    assert "plot_fronts" in autobuild.reports.__all__
