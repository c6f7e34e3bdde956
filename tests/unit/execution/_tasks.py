"""Task functions of the task-pool tests (worker processes import them by module path)."""

from __future__ import annotations

import os


def square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative {x}")
    return x * x


def scaled(factor: int, x: int) -> int:
    return factor * x


def pid(_: object) -> int:
    return os.getpid()


def die(x: int) -> int:
    if x == 1:
        os._exit(3)  # a worker killed mid-task
    return x
