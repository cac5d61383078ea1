"""Atomic writes: old-or-new content, permissions like a plain open(), errors that name the file."""

import os
import stat

import pytest

from wdecay._files import atomic_write, current_umask


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    assert current_umask() == mask
    atomic_write(tmp_path / "new.txt", b"x")
    with open(tmp_path / "plain.txt", "wb") as fh:  # what a plain open() gives
        fh.write(b"x")
    assert mode(tmp_path / "new.txt") == expected == mode(tmp_path / "plain.txt")


@pytest.mark.parametrize("existing", [0o644, 0o640, 0o600, 0o664])
def test_an_existing_file_keeps_its_mode(tmp_path, umask, existing):
    umask(0o022)
    path = tmp_path / "f.json"
    path.write_bytes(b"old")
    os.chmod(path, existing)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == existing


def test_serialization_and_history_files_are_not_private(tmp_path, umask):
    import wdecay

    umask(0o022)
    net = wdecay.Network([3, 2], seed=0)
    for name in ("n.json", "n.npz"):
        wdecay.save(net, tmp_path / name)
        assert mode(tmp_path / name) == 0o644


def test_errors_name_the_file_not_the_temporary(tmp_path):
    target = tmp_path / "missing-folder" / "out.json"
    with pytest.raises(FileNotFoundError) as exc:
        atomic_write(target, b"x")
    assert exc.value.filename == str(target) and ".tmp-" not in str(exc.value)
    assert str(target) in str(exc.value)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f"
    atomic_write(path, b"old")

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left") as exc:
        atomic_write(path, b"new")
    assert exc.value.filename == str(path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f"]
