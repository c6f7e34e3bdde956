"""Tests for reading tables of evaluated architectures and computing targets."""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autobuild.data.table import LabeledData, load_table
from autobuild.exceptions import DataError, ExpressionError
from autobuild.spaces import SearchSpace

SPACE = SearchSpace.from_dict(
    {
        "name": "t",
        "layer": {"kernel": [3, 5]},
        "stage": [{"min_layers": 1, "max_layers": 2}, {"min_layers": 0, "max_layers": 2}],
    }
)
GLOBAL_SPACE = SearchSpace.from_dict(
    {
        "name": "g",
        "layer": {"kernel": [3, 5]},
        "global": {"resolution": {"type": "numeric", "values": [192, 224], "default": 224}},
        "stage": [{"min_layers": 1, "max_layers": 2}],
    }
)
ARCHS = [
    [[{"kernel": 3}], []],
    [[{"kernel": 5}, {"kernel": 3}], [{"kernel": 5}]],
    [[{"kernel": 3}, {"kernel": 3}], [{"kernel": 3}, {"kernel": 5}]],
]
ACC = [0.5, 0.75, 0.9]
LATENCY = [2.0, 4.0, 8.0]
ROWS = [
    {"arch": a, "acc": acc, "latency": lat, "note": "x"}
    for a, acc, lat in zip(ARCHS, ACC, LATENCY, strict=True)
]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if k == "arch" else v for k, v in row.items()})
    return path


def check_rows(data: LabeledData) -> None:
    assert len(data) == 3
    assert data.archs == tuple(SPACE.parse(a) for a in ARCHS)
    assert data.ids == ["3|", "5,3|5", "3,3|3,5"]
    assert data.metric_names == ["acc", "latency"]  # the text column "note" is skipped
    np.testing.assert_array_equal(data.metrics["acc"], ACC)
    assert data.metrics["latency"].dtype == np.float64
    assert (data.n_rows, data.n_duplicates) == (3, 0)


def test_csv_round_trip(tmp_path: Path) -> None:
    data = load_table(write_csv(tmp_path / "d.csv", ROWS), SPACE)
    check_rows(data)
    assert data.source == str(tmp_path / "d.csv")


def test_csv_accepts_canonical_ids_and_empty_metric_cells(tmp_path: Path) -> None:
    path = tmp_path / "d.CSV"
    path.write_text('id,acc\n3|,0.5\n"5,3|5",\n3|3,nan\n')
    data = load_table(path, SPACE, arch_column="id")
    assert data.ids == ["3|", "5,3|5", "3|3"]
    np.testing.assert_array_equal(data.metrics["acc"], [0.5, np.nan, np.nan])


@pytest.mark.parametrize("wrap", [False, True])
def test_json_list_round_trip(tmp_path: Path, wrap: bool) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"records": ROWS} if wrap else ROWS))
    check_rows(load_table(path, SPACE))


def test_json_mapping_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    mapping = {
        SPACE.canonical_id(SPACE.parse(r["arch"])): {k: v for k, v in r.items() if k != "arch"}
        for r in ROWS
    }
    path.write_text(json.dumps(mapping))
    check_rows(load_table(path, SPACE))


def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    check_rows(load_table(path, SPACE))


def test_parquet_round_trip(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{**r, "arch": json.dumps(r["arch"])} for r in ROWS]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    check_rows(load_table(tmp_path / "d.parquet", SPACE))


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(DataError, match=r"needs pyarrow: pip install 'autobuild\[parquet\]'"):
        load_table(path, SPACE)


def test_global_features_object_form(tmp_path: Path) -> None:
    rows = [
        {"arch": {"stages": [[{"kernel": 3}]], "resolution": 192}, "acc": 0.1},
        {"arch": [[{"kernel": 3}]], "acc": 0.2},  # the default resolution
    ]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(rows))
    data = load_table(path, GLOBAL_SPACE)
    assert [a.globals for a in data.archs] == [(192,), (224,)]
    assert data.ids == ["3@192", "3@224"]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("d.txt", "x", r"unknown extension '\.txt'; supported formats are \.csv, \.json"),
        ("missing.csv", None, r"missing\.csv' does not exist"),
        ("d.csv", "", r"is empty"),
        ("d.csv", "arch,acc\n", r"has no rows"),
        ("d.csv", "arch,acc\n3|,1,2\n", r"row 1: 3 fields but the header has 2"),
        ("d.csv", "arch,arch\n3|,1\n", r"names a column twice"),
        ("d.csv", "id,acc\n3|,1\n", r"no 'arch' column; columns found: \['id', 'acc'\]"),
        ("d.csv", "arch,acc\n3|,1\n,2\n", r"row 2: the architecture cell is empty"),
        ("d.csv", "arch,acc\n3|,1\n7|,2\n", r"d\.csv row 2: .*value '7'.*right space"),
        ("d.csv", "arch,name\n3|,a\n", r"no numeric metric column; .*\['name'\]"),
        ("d.json", '[{"arch": "3|",}]', r"not valid JSON: .* line 1, column 16"),
        ("d.json", '"text"', r"got a JSON str"),
        ("d.json", "[1]", r"row 1: expected an object"),
        ("d.json", '{"3|": [1]}', r"key '3\|': expected an object"),
        ("d.json", '{"3|": {"acc": 1}, "9|": {"acc": 2}}', r"key '9\|': .*value '9'"),
        ("d.json", "[]", r"has no rows"),
        ("d.jsonl", '{"arch": "3|", "acc": 1}\n{oops}\n', r"line 2 is not valid JSON"),
        ("d.parquet", "not parquet", r"Cannot read Parquet file"),
    ],
)
def test_load_errors(tmp_path: Path, name: str, content: str | None, match: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    if path.suffix == ".parquet":
        pytest.importorskip("pyarrow")
    with pytest.raises(DataError, match=match):
        load_table(path, SPACE)


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match=r"Cannot read data file"):
        load_table(tmp_path / "d.csv", SPACE)


def test_non_finite_metrics_stored_as_nan_or_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("arch,acc,lat\n3|,0.5,1\n5|,inf,2\n3|5,NaN,3\n")
    data = load_table(path, SPACE)
    np.testing.assert_array_equal(data.metrics["acc"], [0.5, np.nan, np.nan])
    with pytest.raises(DataError, match=r"row 2: metric 'acc' is 'inf'.*2 such values.*--strict"):
        load_table(path, SPACE, strict=True)


def test_duplicates_are_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "d.csv"
    path.write_text('arch,acc\n3|,1\n5|,2\n3|,1\n"[[{""kernel"": 3}], []]",1\n')
    with caplog.at_level(logging.INFO, logger="autobuild.data.table"):
        data = load_table(path, SPACE)
    assert (len(data), data.n_rows, data.n_duplicates) == (2, 4, 2)
    assert "2 of 4 rows repeat an earlier architecture" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_conflicting_duplicates_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "d.csv"
    path.write_text("arch,acc\n3|,1\n3|,2\n3|,3\n5|,\n5|,\n")
    with caplog.at_level(logging.WARNING, logger="autobuild.data.table"):
        data = load_table(path, SPACE)
    np.testing.assert_array_equal(data.metrics["acc"], [1.0, np.nan])
    [record] = caplog.records
    assert "2 duplicate rows have metrics that differ" in record.getMessage()


def make_data() -> LabeledData:
    archs = [SPACE.parse(a) for a in ARCHS]
    acc = np.array([0.5, np.nan, 0.9])
    lat = np.array([2.0, 4.0, 0.0])
    return LabeledData(SPACE, tuple(archs), {"acc": acc, "lat": lat}, source="mem")


def test_target_without_bad_rows() -> None:
    data, y = make_data().target("lat * 2")
    assert len(data) == 3
    np.testing.assert_array_equal(y, [4.0, 8.0, 0.0])


def test_target_drops_non_finite_rows(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        data, y = make_data().target("acc / lat")
    assert data.ids == ["3|"]
    np.testing.assert_array_equal(y, [0.25])
    assert "Skipped 2 of 3 architectures whose target 'acc / lat' is NaN or infinite" in (
        caplog.text
    )


def test_target_strict_and_empty_results() -> None:
    data = make_data()
    with pytest.raises(DataError, match=r"2 of 3 .*\(5,3\|5, 3,3\|3,5\); drop them or run"):
        data.target("acc / lat", strict=True)
    with pytest.raises(DataError, match=r"3 of 3 .*no architecture is left"):
        data.target("log(lat - 10)")
    with pytest.raises(ExpressionError, match=r"Available metrics: acc, lat"):
        data.target("latency")


def test_subset_and_sample() -> None:
    data = make_data()
    sub = data.subset([2, 0])
    assert sub.ids == ["3,3|3,5", "3|"]
    np.testing.assert_array_equal(sub.metrics["lat"], [0.0, 2.0])
    assert len(data.subset(np.array([True, False, True]))) == 2
    assert len(data.subset([])) == 0
    first, again = data.sample(2, seed=7), data.sample(2, seed=7)
    assert first.ids == again.ids
    assert len(set(first.ids)) == 2
    assert sorted(data.sample(3, seed=1).ids) == sorted(data.ids)
    with pytest.raises(DataError, match=r"Cannot sample 4 architectures from mem: it has 3"):
        data.sample(4, seed=0)


def test_misaligned_metrics_refused() -> None:
    with pytest.raises(DataError, match=r"'acc' has shape \(2,\); expected .*\(3,\)"):
        LabeledData(SPACE, tuple(SPACE.parse(a) for a in ARCHS), {"acc": np.zeros(2)})
