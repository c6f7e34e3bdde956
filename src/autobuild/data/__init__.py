"""Labelled data: loading measurements and computing training targets."""

from __future__ import annotations

from autobuild.data.help import load_help_ofa_mbv3
from autobuild.data.nasbench import load_nasbench_macro, locate_nasbench_macro
from autobuild.data.table import LabeledData, load_table, read_architectures
from autobuild.data.target import TargetExpression, parse_target

__all__ = [
    "LabeledData",
    "TargetExpression",
    "load_help_ofa_mbv3",
    "load_nasbench_macro",
    "load_table",
    "locate_nasbench_macro",
    "parse_target",
    "read_architectures",
]
