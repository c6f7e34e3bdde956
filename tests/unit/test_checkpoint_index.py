"""The shared reader of versioned checkpoint index files."""

from __future__ import annotations

import json

import pytest

from autobuild._checkpoint import read_index
from autobuild.exceptions import CheckpointError


def test_read_index_returns_the_parsed_file(tmp_path):
    path = tmp_path / "index.json"
    path.write_text(json.dumps({"format": "x/1", "members": [1, 2]}))
    assert read_index(path, "x/1", "an x folder") == {"format": "x/1", "members": [1, 2]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, r"is not an x folder: index\.json is missing"),
        ("{not json", "Cannot read"),
        ("[1, 2]", "has format None; this autobuild reads 'x/1'"),
        ('{"format": "x/2"}', "has format 'x/2'; this autobuild reads 'x/1'"),
    ],
)
def test_read_index_names_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "index.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(CheckpointError, match=message):
        read_index(path, "x/1", "an x folder")
