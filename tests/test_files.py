"""Atomic writing: a target is replaced whole or not at all, and no temporary file is left."""

import hashlib
import os
import stat

import pytest

from nnvisual.runtime import files


def test_write_bytes_atomic_creates_folders_and_replaces_whole(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    files.write_bytes_atomic(target, b"first")
    files.write_bytes_atomic(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


def test_a_failing_block_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "kept.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), files.atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("stopped mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_new_files_get_ordinary_permissions(tmp_path):
    previous = os.umask(0o027)
    try:
        files.write_bytes_atomic(tmp_path / "f", b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640  # 0666 less the umask


def test_sha256_file_matches_hashlib_across_blocks(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)  # spans several 1 MiB blocks
    (tmp_path / "big").write_bytes(data)
    assert files.sha256_file(tmp_path / "big") == hashlib.sha256(data).hexdigest()
