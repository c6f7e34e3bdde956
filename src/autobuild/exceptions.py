"""Exceptions and warnings raised by autobuild.

Every error the library raises on purpose derives from :class:`AutobuildError`, so callers
(and the CLI) can catch one type. Messages state the invariant, the value received and a fix.
"""

from __future__ import annotations

__all__ = [
    "AutobuildError",
    "AutobuildWarning",
    "CLIUsageError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "EncodingError",
    "EvaluationError",
    "ExpressionError",
    "NotFittedError",
    "SearchSpaceError",
]


class AutobuildError(Exception):
    """Root of every error raised by autobuild."""


class ConfigError(AutobuildError, ValueError):
    """An invalid hyper-parameter or configuration value."""


class SearchSpaceError(AutobuildError, ValueError):
    """An invalid search-space declaration, or an architecture outside its space."""


class DataError(AutobuildError, ValueError):
    """An unreadable data file, or labelled data that cannot be used."""


class ExpressionError(AutobuildError, ValueError):
    """A target expression that is malformed, unsafe or names an unknown metric."""


class EncodingError(AutobuildError, ValueError):
    """An architecture that cannot be turned into a graph."""


class EvaluationError(AutobuildError):
    """An architecture that an evaluator cannot evaluate (unknown to a table, failed run)."""


class CheckpointError(AutobuildError, ValueError):
    """A checkpoint that is missing, corrupt, or belongs to another search space."""


class CLIUsageError(AutobuildError):
    """Invalid command-line usage (exit status 2)."""


class NotFittedError(AutobuildError, ValueError, AttributeError):
    """A predictor method that needs a fitted model was called before ``fit``."""


class AutobuildWarning(UserWarning):
    """Root of every warning emitted by autobuild."""
