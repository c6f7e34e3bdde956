"""Measure random OFA subnets with the command line: params, FLOPs and CPU latency (CSV).

For each of ``ofa-mbv3`` and ``ofa-pn``: ``autobuild sample`` draws ``--n`` distinct random
subnets (uniform over the space's architectures, so deep stages, which allow the most
configurations, dominate; the input resolution uniform; seed ``--seed``), ``autobuild
measure`` builds each one and measures its parameters, its MACs and its median CPU latency
(batch 1, one thread, ``--repeats`` timed runs after warm-up), and the three measurements
are joined into ``<out>/<space>_measured.csv`` with columns ``arch`` (canonical id),
``params``, ``flops`` and ``latency_cpu_ms``. Each ``measure`` run is resumable, so a killed
run continues where it stopped; the raw files stay in ``<work>``.

    python benchmarks/measure_ofa.py [--n 2000] [--seed 2026] [--repeats 10]
        [--work measure-work] [--out benchmarks/data]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

SPACES = ("ofa-mbv3", "ofa-pn")
METRICS = {"params": "params", "flops": "flops", "latency-cpu": "latency_cpu_ms"}


def autobuild(*args: str) -> None:
    cli = [sys.executable, "-m", "autobuild", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cli, check=True, env=env)


def read(path: Path, column: str) -> dict[str, str]:
    with path.open(newline="") as fh:
        return {row["arch_id"]: row[column] for row in csv.DictReader(fh)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--work", type=Path, default=Path("measure-work"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    for space in SPACES:
        archs = args.work / f"{space}-archs.csv"
        if not archs.exists():
            autobuild("sample", "--space", space, "--n", str(args.n), "--seed", str(args.seed),
                      "--out", str(archs))  # fmt: skip
        columns = {}
        for metric, column in METRICS.items():
            raw = args.work / f"{space}-{metric}.csv"
            timing = ["--threads", "1", "--repeats", str(args.repeats)]
            extra = timing if "latency" in metric else []
            autobuild("measure", "--space", space, "--archs", str(archs), "--metric", metric,
                      "--out", str(raw), *extra)  # fmt: skip
            columns[column] = read(raw, column)
        with archs.open(newline="") as fh:
            ids = [row["arch_id"] for row in csv.DictReader(fh)]
        dest = args.out / f"{space}_measured.csv"
        tmp = dest.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["arch", *columns])
            for arch_id in ids:
                writer.writerow([arch_id, *(columns[c][arch_id] for c in columns)])
        tmp.replace(dest)
        print(f"{dest}: {len(ids)} subnets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
