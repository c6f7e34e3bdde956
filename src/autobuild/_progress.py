"""One progress bar (on stderr) for every long loop of the library."""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]


def progress_bar(total: int, enabled: bool, *, desc: str, unit: str, **kwargs: Any) -> Any:
    """A ``tqdm`` bar over ``total`` steps, or ``None`` when ``enabled`` is false.

    ``tqdm`` is imported only when a bar is shown, so that importing the library stays fast.
    """
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, **kwargs)
