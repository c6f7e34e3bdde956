"""CLI: one set of --executor names (serial, process, ray); ``inprocess`` still reads."""

from __future__ import annotations

import logging

import pytest

from autobuild.cli.main import _build_parser

SEARCH = ["search", "--space", "nasbench-macro", "--method", "random"]
SEARCH += ["--objectives", "mean_acc:max", "--out", "o"]
ENSEMBLE = ["ensemble", "--space", "nasbench-macro", "--target", "mean_acc", "--out", "o"]


def test_defaults_and_names() -> None:
    parser = _build_parser()
    assert parser.parse_args(SEARCH).executor == "serial"
    assert parser.parse_args(ENSEMBLE).executor == "process"
    for name in ("serial", "process", "ray"):
        assert parser.parse_args([*SEARCH, "--executor", name]).executor == name
        assert parser.parse_args([*ENSEMBLE, "--executor", name]).executor == name


def test_inprocess_reads_as_serial_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="autobuild.cli"):
        args = _build_parser().parse_args([*SEARCH, "--executor", "inprocess"])
    assert args.executor == "serial"
    assert "--executor inprocess is deprecated; use --executor serial" in caplog.text


def test_unknown_executor_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _build_parser().parse_args([*SEARCH, "--executor", "threads"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'threads'" in err
    assert "'serial', 'process', 'ray'" in err
