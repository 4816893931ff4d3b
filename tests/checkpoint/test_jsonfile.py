"""read_json: one reader, a clear error naming the file in the caller's exception class."""

from __future__ import annotations

import pytest

from hf_hybrid.checkpoint import ModelLoadError, NotACheckpointError, read_json, write_json


def test_read_json_roundtrip(tmp_path):
    path = write_json(tmp_path / "a" / "b.json", {"é": [1, 2], "b": None})
    assert path.read_text(encoding="utf-8") == '{\n  "é": [\n    1,\n    2\n  ],\n  "b": null\n}\n'
    assert read_json(path) == {"é": [1, 2], "b": None}
    write_json(path, {"b": 1, "a": 2}, sort_keys=True)
    assert path.read_text().index('"a"') < path.read_text().index('"b"')


def test_bad_json_raises_the_given_error_naming_the_file(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ModelLoadError, match=f"{bad} is not valid JSON .*; the checkpoint is damaged"):
        read_json(bad)
    with pytest.raises(NotACheckpointError, match=f"{bad} is not valid JSON .*; the training record is damaged"):
        read_json(bad, error=NotACheckpointError, what="training record")

    class MyError(Exception):
        pass

    with pytest.raises(MyError, match=str(bad)):
        read_json(bad, error=MyError)


def test_unreadable_file_raises_the_given_error(tmp_path):
    with pytest.raises(NotACheckpointError, match=f"{tmp_path / 'missing.json'} could not be read"):
        read_json(tmp_path / "missing.json", error=NotACheckpointError)
    (tmp_path / "latin1.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(ModelLoadError, match="latin1.json could not be read"):
        read_json(tmp_path / "latin1.json")
