"""MkDocs hook: read a Google-style ``Example:`` section as an examples section.

The docstrings follow the Google style, which (like Sphinx's Napoleon) accepts the section
title ``Example:`` as well as ``Examples:``. griffe, which mkdocstrings uses to read them,
knows only the plural and would render ``Example:`` as an admonition of plain text, so
``>>>`` lines would lose their code formatting. This maps the singular to the same kind
before any docstring is parsed.
"""

from __future__ import annotations

from griffe import DocstringSectionKind

try:  # griffe >= 1.x keeps the table in an internal module
    from griffe._internal.docstrings import google as _google
except ImportError:  # pragma: no cover - older layout
    from griffe.docstrings import google as _google  # type: ignore[no-redef]

_google._section_kind.setdefault("example", DocstringSectionKind.examples)
