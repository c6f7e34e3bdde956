"""HELP's OFA-MobileNetV3 latencies: located, verified and parsed, or a clear error."""

import pytest

from autobuild.data import load_help_ofa_mbv3
from autobuild.data.help import HELP_OFA_MBV3_FILE
from autobuild.exceptions import DataError


def test_missing_file_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOBUILD_DATA", raising=False)
    with pytest.raises(DataError, match=rf"{tmp_path}.*set AUTOBUILD_DATA"):
        load_help_ofa_mbv3(data_dir=tmp_path)


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOBUILD_DATA", raising=False)
    (tmp_path / HELP_OFA_MBV3_FILE).write_text("idx,r\n0,224\n")
    with pytest.raises(DataError, match=r"not the pinned HELP latency file.*sha256"):
        load_help_ofa_mbv3(data_dir=tmp_path)


@pytest.mark.data
def test_loads_every_subnet_with_twelve_latency_columns():
    try:
        data = load_help_ofa_mbv3()
    except DataError:
        pytest.skip("HELP latencies not found: set AUTOBUILD_DATA to the shared data folder")
    assert data.space.name == "ofa-mbv3"
    assert len(data) == len(set(data.archs)) == 5000
    assert len(data.metric_names) == 12
    assert all(name.startswith("lat_") for name in data.metric_names)
    assert (data.metrics["lat_v100_64"] > 0).all()
