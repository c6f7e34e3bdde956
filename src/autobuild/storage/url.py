"""Storage URLs: where a run store lives, as the command line's ``--storage`` names it."""

from __future__ import annotations

from autobuild.exceptions import ConfigError

__all__ = ["parse_storage_url"]

_URL_FORM = "sqlite:///relative/path.db, sqlite:////absolute/path.db or sqlite:///:memory:"


def parse_storage_url(url: str) -> str:
    """Turn a storage URL into an SQLite database path.

    ``sqlite:///runs.db`` is the relative path ``runs.db``, ``sqlite:////abs/runs.db`` the
    absolute path ``/abs/runs.db``, and ``sqlite:///:memory:`` an in-memory database.

    Args:
        url: The storage URL (e.g. the value of ``--storage``).

    Returns:
        The database path, or ``":memory:"``.

    Raises:
        ConfigError: The URL has another scheme, a host, a query, or no path.

    Example:
        >>> parse_storage_url("sqlite:///runs/nas.db")
        'runs/nas.db'
    """
    if not isinstance(url, str):
        raise ConfigError(f"storage URL must be a string, got {url!r}; use {_URL_FORM}")
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        scheme = url.split("://", 1)[0] if "://" in url else None
        reason = (
            f"unsupported scheme {scheme!r}"
            if scheme and scheme != "sqlite"
            else "not of the accepted form (a host part is not allowed)"
            if scheme == "sqlite"
            else "not a URL"
        )
        raise ConfigError(f"storage URL {url!r}: {reason}; use {_URL_FORM}")
    path = url[len(prefix) :]
    if not path:
        raise ConfigError(f"storage URL {url!r} names no database file; use {_URL_FORM}")
    if "?" in path or "#" in path:
        raise ConfigError(
            f"storage URL {url!r}: query and fragment parts are not supported; use {_URL_FORM}"
        )
    return path
