"""Atomic file writes (a temporary file in the same folder, then a rename) and bounded reads.

:func:`open_regular` and :func:`read_regular` are how wdecay opens every file it
did not write in this process (models, checkpoints, histories, run folders'
bookkeeping): only a regular file is read, never a FIFO, a device or a
directory (also not through a symbolic link), and its size is checked against
a limit before a byte is read.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading

_UMASK_LOCK = threading.Lock()

#: Largest file :func:`read_regular` reads by default (1 GiB).
MAX_READ_BYTES = 1 << 30


class UnsafeFile(ValueError):
    """A path that is not a regular file, or one larger than the reader allows."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def open_regular(path, limit=MAX_READ_BYTES):
    """Open ``path`` for reading in binary mode if it is a regular file of at most ``limit`` bytes.

    The file is opened without blocking (a FIFO cannot hang the open) and
    checked with ``fstat`` on the open descriptor, so a file swapped after the
    check is not read either. A symbolic link to a regular file is followed; one
    to ``/dev/zero``, a FIFO or a directory is refused. Raises
    :class:`UnsafeFile` (a ``ValueError``) naming ``path`` and what it is;
    ``FileNotFoundError`` if it does not exist.

    Examples
    --------
    >>> open_regular("/dev/zero")
    Traceback (most recent call last):
    ...
    wdecay._files.UnsafeFile: /dev/zero is a character device, not a regular file; wdecay reads only regular files
    """
    path = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
            raise UnsafeFile(f"{path} is {kind}, not a regular file; wdecay reads only "
                             "regular files")
        if limit is not None and st.st_size > limit:
            raise UnsafeFile(f"{path} has {st.st_size} bytes, more than the {limit} this "
                             "reader allows")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path, limit=MAX_READ_BYTES):
    """The bytes of the regular file ``path`` (see :func:`open_regular`), at most ``limit``."""
    with open_regular(path, limit) as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(size + 1)
    if len(data) > size:  # it grew after the check
        raise UnsafeFile(f"{os.fspath(path)} grew while it was read; try again once its "
                         "writer has finished")
    return data


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
