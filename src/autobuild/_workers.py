"""Local worker processes that do not outlive the process that started them."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading

__all__ = ["exit_with_parent"]


def exit_with_parent() -> None:
    """In a worker process, exit as soon as the parent process ends.

    A ``ProcessPoolExecutor`` worker whose parent is killed (``SIGTERM``, ``SIGKILL``, out of
    memory) waits on its task queue forever, holding a core and its memory. Called from the
    pool initializer, this starts a daemon thread that waits on the parent's sentinel and ends
    the worker when it fires. Written by hand because neither ``concurrent.futures`` nor
    ``multiprocessing`` offers it portably (Linux's ``PR_SET_PDEATHSIG`` exists only there).
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child: nothing to watch
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="autobuild-exit-with-parent", daemon=True).start()
