"""The ``autobuild`` command line: a thin layer over the Python API.

Every command parses its arguments, calls the same public functions a Python user would,
writes its results atomically and returns an exit status: 0 on success, 1 when the data or
a file is wrong (one line on stderr), 2 on usage errors.

This module builds the parser and runs a command; the commands themselves live in
:mod:`autobuild.cli.commands`, one module each.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from autobuild.cli.commands import COMMANDS, Command
from autobuild.exceptions import AutobuildError, CLIUsageError

__all__ = ["entrypoint", "main"]

# Command name -> class, in the order of the help text (the tests and benchmarks read it).
_COMMANDS: dict[str, type[Command]] = {c.name: c for c in COMMANDS}


class _VersionAction(argparse.Action):
    """``--version``: print the installed version and exit (read only when asked for)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="Show the version and exit.")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from autobuild._version import __version__

        print(f"autobuild {__version__}")
        parser.exit()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autobuild",
        description="Build strong neural architectures from a few evaluated ones (AutoBuild).",
    )
    parser.add_argument("--version", action=_VersionAction)
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="Warnings only.")
    parser.add_argument("--debug", action="store_true", help="Show tracebacks of errors.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cls in _COMMANDS.items():
        cmd = cls()
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_command=cmd)
    return parser


@contextlib.contextmanager
def _logging_to_stderr(verbose: bool, quiet: bool) -> Iterator[None]:
    """Send the ``autobuild`` loggers to the current ``sys.stderr`` for one invocation.

    The handler and the level are removed and restored on exit, so calling :func:`main`
    repeatedly in one process (tests, notebooks) neither duplicates messages nor leaves a
    handler bound to a stream that has since been closed.
    """
    root = logging.getLogger("autobuild")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    level = root.level
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_command", None) is None:
        parser.print_help(sys.stderr)
        return 2
    with _logging_to_stderr(args.verbose, args.quiet):
        try:
            return int(args._command.run(args))
        except CLIUsageError as err:
            if args.debug:
                raise
            print(f"autobuild {args.command}: error: {err}", file=sys.stderr)
            return 2
        except AutobuildError as err:
            if args.debug:
                raise
            print(f"autobuild {args.command}: error: {err}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("autobuild: interrupted", file=sys.stderr)
            return 130


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())
