"""Tests for finding, downloading and loading the NAS-Bench-Macro results."""

from __future__ import annotations

import hashlib
import io
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autobuild.data import nasbench
from autobuild.data.nasbench import load_nasbench_macro, locate_nasbench_macro
from autobuild.exceptions import DataError

FILE = nasbench.NASBENCH_MACRO_FILE
FAKE = json.dumps(
    {
        "22212220": {"test_acc": [93.0, 93.2, 93.2], "mean_acc": 93.13, "params": 1, "flops": 2},
        "22212202": {"test_acc": [93.0, 93.2, 93.2], "mean_acc": 93.13, "params": 1, "flops": 2},
        "02012100": {"test_acc": [89.0, 89.2, 89.4], "mean_acc": 89.2, "params": 3, "flops": 4},
    }
).encode()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pin the fake file's hash, isolate the environment and refuse network access."""
    monkeypatch.setattr(nasbench, "NASBENCH_MACRO_SHA256", hashlib.sha256(FAKE).hexdigest())
    for var in ("AUTOBUILD_DATA", "AUTOBUILD_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path


def serve(monkeypatch: pytest.MonkeyPatch, payload: bytes) -> list[str]:
    """Make ``urlopen`` return ``payload``; return the list of requested URLs."""
    urls: list[str] = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        urls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return urls


@pytest.mark.parametrize("layout", ["nasbench_macro", "."])
def test_data_dir_layouts(fake: Path, layout: str) -> None:
    target = fake / "shared" / layout / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(FAKE)
    assert locate_nasbench_macro(data_dir=fake / "shared") == target


def test_environment_lookup_order(fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (fake / "env").mkdir()
    (fake / "env" / FILE).write_bytes(FAKE)
    monkeypatch.setenv("AUTOBUILD_DATA", str(fake / "env"))
    assert locate_nasbench_macro(data_dir=fake / "empty") == fake / "env" / FILE
    monkeypatch.delenv("AUTOBUILD_DATA")
    (fake / "xdg" / "autobuild").mkdir(parents=True)
    (fake / "xdg" / "autobuild" / FILE).write_bytes(FAKE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(fake / "xdg"))
    assert locate_nasbench_macro() == fake / "xdg" / "autobuild" / FILE


def test_download_verifies_and_caches(fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = serve(monkeypatch, FAKE)
    monkeypatch.setenv("AUTOBUILD_CACHE", str(fake / "cache"))
    path = locate_nasbench_macro()
    assert path == fake / "cache" / FILE
    assert path.read_bytes() == FAKE
    assert urls == [nasbench.NASBENCH_MACRO_URL]
    assert locate_nasbench_macro() == path  # served from the cache
    assert len(urls) == 1
    assert os.listdir(fake / "cache") == [FILE]


def test_download_with_bad_hash_leaves_nothing(
    fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, FAKE + b" ")
    with pytest.raises(
        DataError, match=r"corrupt or changed: its sha256 is [0-9a-f]{64}, expected"
    ):
        locate_nasbench_macro(cache_dir=fake / "cache")
    assert os.listdir(fake / "cache") == []


def test_network_failure_says_where_to_put_the_file(fake: Path) -> None:
    with pytest.raises(DataError, match=r"network disabled.*by hand to one of .*cache/autobuild"):
        locate_nasbench_macro(data_dir=fake / "shared")


def test_no_download(fake: Path) -> None:
    with pytest.raises(DataError, match=r"not found; tried .*shared/nasbench_macro/nas-bench"):
        locate_nasbench_macro(data_dir=fake / "shared", cache_dir=fake / "cache", download=False)


@pytest.mark.parametrize(("where", "fix"), [("cache", "delete it"), ("shared", "replace it")])
def test_corrupt_copy_refused(fake: Path, where: str, fix: str) -> None:
    (fake / where).mkdir()
    (fake / where / FILE).write_bytes(b"{}")
    with pytest.raises(DataError, match=rf"not the pinned NAS-Bench-Macro file; {fix}"):
        locate_nasbench_macro(data_dir=fake / "shared", cache_dir=fake / "cache")


def test_load_fake_file(fake: Path) -> None:
    (fake / FILE).write_bytes(FAKE)
    data = load_nasbench_macro(cache_dir=fake)
    assert data.space.name == "nasbench-macro"
    assert (len(data), data.n_rows, data.n_duplicates) == (2, 3, 1)
    assert data.ids == ["22212220", "02012100"]
    assert data.metric_names == ["mean_acc", "params", "flops"]


@pytest.mark.data
def test_real_file() -> None:
    root = os.environ.get("AUTOBUILD_DATA")
    if not root or not (Path(root) / "nasbench_macro" / FILE).is_file():
        pytest.skip("needs $AUTOBUILD_DATA/nasbench_macro/" + FILE)
    data = load_nasbench_macro(data_dir=root, download=False)
    assert (data.n_rows, len(data), data.n_duplicates) == (6561, 3969, 2592)
    assert {"mean_acc", "std", "params", "flops"} <= set(data.metric_names)
    assert "test_acc" not in data.metric_names
    best = int(np.argmax(data.metrics["mean_acc"]))
    assert data.ids[best] == "22212220"
    assert data.metrics["mean_acc"][best] == pytest.approx(93.13, abs=0.01)
