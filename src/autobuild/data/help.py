"""HELP's measured latencies of 5,000 OFA-MobileNetV3 subnets (Lee et al., NeurIPS 2021).

The CSV (one row per subnet: resolution ``r``, stage depths ``d0..d4``, per-slot kernels
``k0..k19`` and expansions ``e0..e19``, and 12 latency columns) is read from ``data_dir`` or
``$AUTOBUILD_DATA`` (as ``help_ofa_mbv3_latency/<file>`` or ``<file>``) and checked against
a pinned SHA-256. Slots beyond a stage's depth are inactive; the ``ofa-mbv3`` space ignores
them when it parses OFA's ``{"ks", "e", "d", "r"}`` form.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import numpy as np

from autobuild import spaces
from autobuild.data.table import LabeledData
from autobuild.exceptions import DataError
from autobuild.spaces import Architecture

__all__ = ["HELP_OFA_MBV3_FILE", "HELP_OFA_MBV3_SHA256", "load_help_ofa_mbv3"]

HELP_OFA_MBV3_FILE = "help_ofa_mbv3_latency.csv"
HELP_OFA_MBV3_SHA256 = "bc80772ef45799bb0882aebef354bf33d4d7cae5680c2c64cc9b59f4ca943b6e"


def load_help_ofa_mbv3(*, data_dir: str | Path | None = None) -> LabeledData:
    """Load HELP's OFA-MobileNetV3 latencies as labelled data of the ``ofa-mbv3`` space.

    Metrics are the 12 ``lat_<gpu>_<batch>`` columns (milliseconds on 2080Ti, Titan RTX,
    Titan Xp and V100 at batch 1, 32 and 64), rows in file order.

    Args:
        data_dir: A folder holding ``help_ofa_mbv3_latency/<file>`` or ``<file>``; searched
            before ``$AUTOBUILD_DATA``.

    Raises:
        DataError: The file is found nowhere, does not match the pinned SHA-256, or has a
            row that is not an ``ofa-mbv3`` subnet.
    """
    roots = [Path(d) for d in (data_dir, os.environ.get("AUTOBUILD_DATA")) if d]
    tried = [p / HELP_OFA_MBV3_FILE for r in roots for p in (r / "help_ofa_mbv3_latency", r)]
    path = next((p for p in tried if p.is_file()), None)
    if path is None:
        where = ", ".join(map(str, tried)) or "nowhere ($AUTOBUILD_DATA is not set)"
        raise DataError(
            f"HELP OFA-MobileNetV3 latencies not found; tried {where}. Pass `data_dir` or set "
            "AUTOBUILD_DATA to the folder that holds help_ofa_mbv3_latency/."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != HELP_OFA_MBV3_SHA256:
        raise DataError(
            f"{path} is not the pinned HELP latency file: its sha256 is {digest}, expected "
            f"{HELP_OFA_MBV3_SHA256}; replace it."
        )
    space = spaces.get("ofa-mbv3")
    archs: list[Architecture] = []
    columns: dict[str, list[float]] = {}
    with path.open(newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                archs.append(
                    space.parse(
                        {
                            "d": [int(row[f"d{i}"]) for i in range(5)],
                            "ks": [int(row[f"k{i}"]) for i in range(20)],
                            "e": [int(row[f"e{i}"]) for i in range(20)],
                            "r": int(row["r"]),
                        }
                    )
                )
            except (KeyError, TypeError, ValueError) as err:
                raise DataError(f"{path}, line {line}: not an OFA subnet row ({err}).") from err
            for key, value in row.items():
                if key.startswith("lat_"):
                    columns.setdefault(key, []).append(float(value))
    return LabeledData(
        space,
        tuple(archs),
        {k: np.asarray(v) for k, v in columns.items()},
        source=str(path),
        n_rows=len(archs),
    )
