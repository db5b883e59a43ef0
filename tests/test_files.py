"""Atomic writes: the old file or the new one, never half of one, and no temporary left."""

from __future__ import annotations

import pytest

from warehouse.files import atomic_path, write_text_atomic


def test_a_write_replaces_the_file_in_one_step(tmp_path):
    target = tmp_path / "out" / "drafts.md"
    assert write_text_atomic("first\r\n", target) == target
    write_text_atomic("second", target)
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["drafts.md"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "audience.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["audience.csv"]
