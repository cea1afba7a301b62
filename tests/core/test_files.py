"""Atomic writes: the target appears whole or not at all; nothing temporary is left."""

import json

import pytest

from review.core.files import (
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    canonical_json,
    pretty_json,
)


def test_canonical_json_is_sorted_and_compact():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'
    assert pretty_json({"b": 1, "a": 2}) == '{\n  "a": 2,\n  "b": 1\n}\n'


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "state.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_failed_write_leaves_the_old_content(tmp_path):
    target = tmp_path / "index.html"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_a_folder_is_written_whole(tmp_path):
    target = tmp_path / "entry"
    with atomic_path(target) as tmp:
        (tmp / "tables").mkdir(parents=True)
        (tmp / "tables" / "a.parquet").write_text("x")
        assert not target.exists()  # readers never see half an entry
    assert (target / "tables" / "a.parquet").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]
