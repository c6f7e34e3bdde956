"""MkDocs hook: render the command-line reference from the argparse parsers.

``docs/cli.md`` holds the marker ``<!-- cli-reference -->``; at build time this hook
replaces it with the ``--help`` text of ``autobuild`` and of every sub-command (nested
ones such as ``autobuild study ask`` included), read from the parser that
``autobuild.cli.main`` builds. Nothing is copied by hand, so the page cannot drift from
the code.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any

MARKER = "<!-- cli-reference -->"
WIDTH = "100"  # argparse wraps help at $COLUMNS; fixed, so the page does not depend on it


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of ``parser``'s sub-commands, in the order of its help text."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("autobuild",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Yield ``(command path, parser)`` for ``parser`` and every sub-command, depth first."""
    yield path, parser
    for name, sub in _subcommands(parser).items():
        yield from walk(sub, (*path, name))


def render() -> str:
    """The Markdown of the whole reference: one section per command."""
    from autobuild.cli.main import _build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parser = _build_parser()
        sections = []
        for path, sub in walk(parser):
            sub.prog = " ".join(path)
            level = "#" * min(len(path) + 1, 4)
            anchor = "-".join(path)
            sections.append(
                f"{level} `{' '.join(path)}` {{#{anchor}}}\n\n"
                f"```text\n{sub.format_help().rstrip()}\n```\n"
            )
        return "\n".join(sections)
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Replace the marker of ``docs/cli.md`` with the generated reference."""
    if page.file.src_uri == "cli.md" and MARKER in markdown:
        return markdown.replace(MARKER, render())
    return markdown
