"""Local worker processes end when the process that started them is killed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

# A parent that starts two pool workers through the initializer under test, makes sure each
# runs one task (a barrier both must reach), prints their pids and then kills itself with
# SIGKILL, so no clean-up of its own can run.
_PARENT = """
import multiprocessing, os, signal
from concurrent.futures import ProcessPoolExecutor
from autobuild._workers import exit_with_parent

BARRIER = None

def init(barrier):
    global BARRIER
    BARRIER = barrier
    exit_with_parent()

def pid_in_its_own_worker():
    BARRIER.wait(timeout=120)  # returns only once both tasks run, so in two workers
    return os.getpid()

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=2, mp_context=ctx, initializer=init, initargs=(ctx.Barrier(2),)
    )
    futures = [pool.submit(pid_in_its_own_worker) for _ in range(2)]
    print(" ".join(str(f.result()) for f in futures), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"  # a zombie has already exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"  # "spawn" re-imports it, so not `python -c`
    script.write_text(_PARENT)
    out, err = tmp_path / "pids.txt", tmp_path / "stderr.txt"
    # Output to files, not pipes: orphaned workers would hold a pipe open.
    with out.open("w") as fh_out, err.open("w") as fh_err:
        proc = subprocess.run([sys.executable, str(script)], stdout=fh_out, stderr=fh_err)
    assert proc.returncode == -9, err.read_text()
    pids = [int(p) for p in out.read_text().split()]
    assert len(set(pids)) == 2
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [p for p in pids if _alive(p)]
    for p in alive:  # do not leave them behind if the test fails
        os.kill(p, 9)
    assert not alive, f"worker processes {alive} outlived their killed parent"
