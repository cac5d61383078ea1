"""Atomic file writes: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
import tempfile


def atomic_write(path, data):
    """Write ``data`` (bytes) to ``path`` so that readers see the old or the new file.

    The bytes go to a temporary file beside ``path``, are flushed to disk, and
    the temporary file is renamed over ``path`` (``os.replace`` is atomic on
    POSIX and Windows). An interrupted write leaves the previous file intact.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
