"""The NAS-Bench-Macro CIFAR-10 results (Su et al., CVPR 2021), found locally or downloaded.

The file is looked up, in order, in ``data_dir`` and ``$AUTOBUILD_DATA`` (as
``nasbench_macro/<file>`` or ``<file>``), then in the user cache (``cache_dir``,
``$AUTOBUILD_CACHE``, ``$XDG_CACHE_HOME/autobuild`` or ``~/.cache/autobuild``). If it is in
none of them it is downloaded into the cache. Every copy is checked against a pinned SHA-256.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from autobuild import spaces
from autobuild.data.table import LabeledData, load_table
from autobuild.exceptions import DataError

__all__ = [
    "NASBENCH_MACRO_FILE",
    "NASBENCH_MACRO_SHA256",
    "NASBENCH_MACRO_URL",
    "load_nasbench_macro",
    "locate_nasbench_macro",
]

logger = logging.getLogger(__name__)

NASBENCH_MACRO_URL = (
    "https://raw.githubusercontent.com/xiusu/NAS-Bench-Macro/"
    "61a2bfc2ca0dce04d0997e6cf498047c27d6acf2/data/nas-bench-macro_cifar10.json"
)
NASBENCH_MACRO_SHA256 = "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297"
NASBENCH_MACRO_FILE = "nas-bench-macro_cifar10.json"
_TIMEOUT_S = 60


def locate_nasbench_macro(
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = True,
) -> Path:
    """Return the path of the verified NAS-Bench-Macro file, downloading it if needed.

    Args:
        data_dir: A folder holding ``nasbench_macro/<file>`` or ``<file>``; searched first.
        cache_dir: The user cache folder (default ``$AUTOBUILD_CACHE``,
            ``$XDG_CACHE_HOME/autobuild`` or ``~/.cache/autobuild``).
        download: Download the file into the cache when it is found nowhere.

    Raises:
        DataError: If a copy found does not match the pinned SHA-256, or the file is not
            found and cannot (or may not) be downloaded; the message lists the paths tried.
    """
    roots = [Path(d) for d in (data_dir, os.environ.get("AUTOBUILD_DATA")) if d]
    shared = [d / NASBENCH_MACRO_FILE for r in roots for d in (r / "nasbench_macro", r)]
    cached = _cache_dir(cache_dir) / NASBENCH_MACRO_FILE
    candidates = list(dict.fromkeys([*shared, cached]))
    for path in candidates:
        if path.is_file():
            fix = "delete it to download it again" if path == cached else "replace it"
            _verify(path, f"{path} is not the pinned NAS-Bench-Macro file; {fix}")
            return path
    where = ", ".join(map(str, candidates))
    if not download:
        raise DataError(
            f"NAS-Bench-Macro file not found; tried {where}. Download {NASBENCH_MACRO_URL} "
            "to one of them, or allow downloading."
        )
    _download(cached, where)
    return cached


def load_nasbench_macro(
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = True,
) -> LabeledData:
    """Load NAS-Bench-Macro as labelled data of the ``nasbench-macro`` space.

    Metrics are ``mean_acc`` (CIFAR-10 test accuracy in percent, mean of three runs),
    ``std``, ``params`` and ``flops``. The 6561 keys name 3969 distinct architectures; the
    repeats are dropped and counted in :attr:`LabeledData.n_duplicates`.

    Args:
        data_dir: See :func:`locate_nasbench_macro`.
        cache_dir: See :func:`locate_nasbench_macro`.
        download: See :func:`locate_nasbench_macro`.

    Raises:
        DataError: If the file cannot be found, downloaded or read.
    """
    path = locate_nasbench_macro(data_dir=data_dir, cache_dir=cache_dir, download=download)
    return load_table(path, spaces.get("nasbench-macro"))


def _cache_dir(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    if env := os.environ.get("AUTOBUILD_CACHE"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "autobuild"


def _verify(path: Path, problem: str) -> None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err}.") from err
    if digest.hexdigest() != NASBENCH_MACRO_SHA256:
        raise DataError(
            f"{problem}: its sha256 is {digest.hexdigest()}, expected {NASBENCH_MACRO_SHA256}."
        )


def _download(dest: Path, where: str) -> None:
    """Download the file to a temporary name next to ``dest``, verify it, then rename it."""
    manual = f"download {NASBENCH_MACRO_URL} by hand to one of {where}"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as err:
        raise DataError(
            f"Cannot write to the cache folder {dest.parent}: {err}; {manual}."
        ) from err
    tmp = Path(name)
    logger.info("Downloading NAS-Bench-Macro from %s to %s", NASBENCH_MACRO_URL, dest)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(NASBENCH_MACRO_URL, timeout=_TIMEOUT_S) as response:
                    shutil.copyfileobj(response, out)
            except (OSError, http.client.HTTPException) as err:
                raise DataError(f"Cannot download NAS-Bench-Macro: {err}; {manual}.") from err
        _verify(tmp, f"The file downloaded from {NASBENCH_MACRO_URL} is corrupt or changed")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
