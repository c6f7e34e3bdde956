"""How long the command line takes to answer when it has nothing heavy to do (a Markdown table).

``autobuild --help``, ``--version``, ``spaces`` and every ``autobuild CMD --help`` must not
import torch. Each is run as a fresh process ``--repeats`` times; the table gives the median
wall time and its ratio to two references measured in the same run: a bare interpreter
(``python -c pass``) and ``python -c "import torch"`` (what every call cost when the package
imported torch up front). Commands run as an installed package runs, with its bytecode cached:
the warm-up run writes it, whatever ``PYTHONDONTWRITEBYTECODE`` says in this shell.

    python benchmarks/cli_startup.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from autobuild.cli.main import _COMMANDS

AUTOBUILD = str(Path(sys.executable).with_name("autobuild"))
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_seconds(argv: list[str], repeats: int) -> float:
    """Median wall time of ``argv`` run as a fresh process (one warm-up run first)."""
    subprocess.run(argv, capture_output=True, check=True, env=ENV)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="Runs per command (median).")
    args = parser.parse_args()

    bare = median_seconds([sys.executable, "-c", "pass"], args.repeats)
    torch_import = median_seconds([sys.executable, "-c", "import torch"], args.repeats)
    calls = [["--help"], ["--version"], ["spaces"]] + [[name, "--help"] for name in _COMMANDS]
    print("| command | median s | × `python -c pass` | × `import torch` |")
    print("|---|---|---|---|")
    print(f"| `python -c pass` | {bare:.3f} | 1.00 | {bare / torch_import:.2f} |")
    ratio = torch_import / bare
    print(f'| `python -c "import torch"` | {torch_import:.3f} | {ratio:.2f} | 1.00 |')
    worst = 0.0
    for argv in calls:
        t = median_seconds([AUTOBUILD, *argv], args.repeats)
        worst = max(worst, t)
        name = " ".join(["autobuild", *argv])
        print(f"| `{name}` | {t:.3f} | {t / bare:.2f} | {t / torch_import:.2f} |")
    print(f"\nSlowest: {worst:.3f} s ({worst / torch_import:.2f} × `import torch`).")


if __name__ == "__main__":
    main()
