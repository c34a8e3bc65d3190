"""file_io.replaced_on_success and write_text: a file is replaced whole or not at all, and no
temporary is left behind either way."""

from __future__ import annotations

import pytest

from pipelines.file_io import replaced_on_success, write_text


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_the_new_file_replaces_the_old_when_the_write_ends(tmp_path):
    target = tmp_path / "table.parquet"
    target.write_bytes(b"old")
    with replaced_on_success(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # readers see the old file until the rename
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.parquet"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"), replaced_on_success(target) as tmp:
        tmp.write_bytes(b"half a fi")
        raise OSError("disk full")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_failed_first_write_leaves_no_file_at_all(tmp_path):
    target = tmp_path / "table.parquet"
    with pytest.raises(RuntimeError), replaced_on_success(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_never_created_its_temporary_fails_cleanly(tmp_path):
    target = tmp_path / "table.parquet"
    target.write_bytes(b"old")
    with pytest.raises(ValueError), replaced_on_success(target):
        raise ValueError("no rows")
    assert target.read_bytes() == b"old"


def test_text_is_written_whole_as_utf_8(tmp_path):
    target = write_text(tmp_path / "cards" / "card.md", "# 模型卡\n")
    assert target.read_bytes() == "# 模型卡\n".encode()
    assert leftovers(target.parent) == []
