"""One self-contained HTML page of an output folder or a study (``autobuild report``).

``autobuild report DIR`` writes ``DIR/report.html`` (or ``--out FILE``) from what ``train``,
``score``, ``build``, ``demo``, ``ensemble`` or ``search`` wrote into ``DIR``: tables sortable
by clicking a column header, figures embedded in the page, no network needed to view it.
``autobuild report --study NAME --storage URL --out FILE`` does the same for a study (a study
keeps its trials in its storage, not in a folder). Figures that are not in the folder already
are drawn with matplotlib (``pip install 'autobuild[plot]'``); without it the page still
shows every table and names the figures it left out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

__all__ = ["ReportCommand"]

_DEFAULT_STORAGE = "sqlite:///autobuild.db"  # autobuild.study.DEFAULT_STORAGE, kept cheap


class ReportCommand(Command):
    name = "report"
    help = (
        "Write one self-contained HTML page (DIR/report.html) of an output folder of train, "
        "score, build, demo, ensemble or search, or of a study (--study NAME --storage URL "
        "--out FILE): sortable tables and embedded figures, viewable offline in a browser."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "dir",
            type=Path,
            nargs="?",
            metavar="DIR",
            help="Output folder of an autobuild command (its --out).",
        )
        parser.add_argument(
            "--out",
            type=Path,
            help="HTML file to write (default: DIR/report.html; required with --study).",
        )
        parser.add_argument(
            "--study", metavar="NAME", help="Report on this study instead of a folder."
        )
        parser.add_argument(
            "--storage",
            default=None,
            help=f"Storage URL of --study (default: {_DEFAULT_STORAGE}).",
        )

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.reports.html import detect_kinds, write_html_report, write_study_report

        if args.study is None:
            if args.dir is None:
                raise CLIUsageError(
                    "give the output folder to report on (autobuild report DIR), or a study "
                    "(autobuild report --study NAME --storage URL --out FILE)."
                )
            if args.storage is not None:
                raise CLIUsageError("--storage applies to --study only; drop it or add --study.")
            kinds = detect_kinds(args.dir)
            path = write_html_report(args.dir, args.out)
            print(f"Report of {args.dir} ({', '.join(kinds)}): {path}")
            return 0
        if args.dir is not None:
            raise CLIUsageError(
                f"give either a folder ({args.dir}) or --study {args.study}, not both."
            )
        if args.out is None:
            raise CLIUsageError(
                "--study needs --out FILE (a study lives in its storage, not in a folder), "
                f"e.g. --out {args.study}.html."
            )
        storage = args.storage or _DEFAULT_STORAGE
        path = write_study_report(args.study, storage, args.out)
        print(f"Report of study {args.study!r} in {storage}: {path}")
        return 0
