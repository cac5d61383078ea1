"""Atomic file writes: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
import stat
import tempfile
import threading

_UMASK_LOCK = threading.Lock()


def atomic_write(path, data):
    """Write ``data`` (bytes) to ``path`` so that readers see the old or the new file.

    The bytes go to a temporary file beside ``path``, are flushed to disk, and
    the temporary file is renamed over ``path`` (``os.replace`` is atomic on
    POSIX and Windows). An interrupted write leaves the previous file intact.

    The new file gets the permissions a plain ``open(path, "wb")`` would give:
    an existing file keeps its mode, a new one gets ``0o666`` minus the umask
    (0644 under the usual umask 022), not the temporary file's private 0600.
    Errors name ``path``, never the temporary file.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> atomic_write(path, b"one"); atomic_write(path, b"two")
    >>> open(path, "rb").read()
    b'two'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    mode = _target_mode(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=folder)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                if hasattr(os, "fchmod"):
                    os.fchmod(fh.fileno(), mode)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise _naming(exc, path) from None
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)


def _target_mode(path):
    """The mode ``path`` has now, or the one a new file gets under the current umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def current_umask():
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore (other threads may briefly see 0o022)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _naming(exc, path):
    """The same kind of OSError, naming ``path`` instead of the temporary file."""
    if exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, path)


def _sync_folder(folder):
    """Flush the rename to disk (best effort; not possible on every system)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
