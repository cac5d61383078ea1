"""Results folders: one writer at a time, run folders inside them, and a list of what wdecay wrote.

A results folder (``wdecay experiment --out DIR``) is untrusted input when it
is read again (``--resume DIR``, ``--overwrite``): someone may have sent it, or
edited it. This module holds the three rules that keep it safe:

- :func:`lock` takes an exclusive ``fcntl.flock`` (``msvcrt.locking`` on
  Windows) on ``DIR/.wdecay.lock``; a second writer is refused at once with
  :class:`FolderBusy`. The system drops the lock when its holder exits,
  however it exits, so a killed run leaves no lock behind (the empty file
  stays; it is not the lock).
- :func:`run_folder` resolves a run folder named in ``run.json`` and refuses
  any name that would leave ``DIR`` (absolute paths, ``..``, separators,
  symbolic links).
- The manifest ``DIR/.wdecay-manifest.json`` lists every file wdecay wrote or
  was about to write there, recorded *before* it is written;
  ``--overwrite`` deletes only files it lists (:func:`recorded`). Its entries
  are checked like any input: only result names (:func:`is_result_name`), at
  most one run folder deep.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading

from ._files import atomic_write, read_regular

LOCK_NAME = ".wdecay.lock"
MANIFEST_NAME = ".wdecay-manifest.json"
MAX_MANIFEST_BYTES = 1 << 20
#: The files ``wdecay experiment`` and ``wdecay path`` write into a results folder.
RESULT_FILES = ("history.csv", "history.json", "summary.json", "model.json", "report.html",
                "run.json", "path.json", "layer_norms.png", "sum_vs_abs.png", "norm_budget.png",
                "coefficient_paths.png", "path_norm.png", "path_costs.png")
#: A manifest entry standing for the one checkpoint a run folder holds at a time.
CHECKPOINT_ENTRY = "checkpoint-epoch<k>.npz"
_CHECKPOINT = re.compile(r"checkpoint-epoch(\d+)\.npz")
_OVERLAY = re.compile(r"overlay_layer\d+_[A-Za-z0-9_]+\.png")
_RUN_FOLDER = re.compile(r"[A-Za-z0-9_.+-]+=[A-Za-z0-9_.,=+-]+")

_HELD = {}  # realpath -> [fd, count]: locks this process holds (a run inside an experiment)
_HELD_LOCK = threading.Lock()


class FolderBusy(OSError):
    """Another process writes into this results folder."""


def is_result_name(name):
    """True for the names of files wdecay writes into a results or run folder."""
    return (name in RESULT_FILES or name == CHECKPOINT_ENTRY or bool(_CHECKPOINT.fullmatch(name))
            or bool(_OVERLAY.fullmatch(name)))


@contextlib.contextmanager
def lock(folder):
    """Hold the exclusive lock of ``folder`` (which must exist) for the ``with`` block.

    Raises :class:`FolderBusy` at once, naming the folder, if another process
    holds it or holds a folder that contains it (a run writing ``out`` owns
    ``out/lmbda=5`` too). Re-entrant within one process.
    """
    key = os.path.realpath(folder)
    _check_ancestors(key)
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
    if held is None:
        path = os.path.join(folder, LOCK_NAME)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            raise type(exc)(exc.errno, f"{exc.strerror} (the lock file of a results folder "
                            "must be a regular file)", path) from None
        try:
            _try_lock(fd)
        except BlockingIOError:
            os.close(fd)
            raise FolderBusy(f"{folder} is in use by another wdecay run (it holds {path}); "
                             "wait for it to finish or choose another folder") from None
        except BaseException:
            os.close(fd)
            raise
        with _HELD_LOCK:
            _HELD[key] = held = [fd, 1]
    try:
        yield
    finally:
        with _HELD_LOCK:
            held[1] -= 1
            last = held[1] == 0
            if last:
                del _HELD[key]
        if last:
            os.close(held[0])  # closing the descriptor releases the flock


def _check_ancestors(key):
    """Refuse, with :class:`FolderBusy`, a folder inside one another process holds."""
    parent = os.path.dirname(key)
    while parent and parent != key:
        path = os.path.join(parent, LOCK_NAME)
        with _HELD_LOCK:
            mine = parent in _HELD
        if not mine and os.path.isfile(path) and not os.path.islink(path):
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                fd = None
            if fd is not None:
                try:
                    _try_lock(fd)
                except BlockingIOError:
                    raise FolderBusy(f"{parent} is in use by another wdecay run (it holds "
                                     f"{path}), and {key} lies inside it; wait for it to "
                                     "finish or choose another folder") from None
                finally:
                    os.close(fd)
        key, parent = parent, os.path.dirname(parent)


def _try_lock(fd):
    """Lock the open file ``fd`` exclusively without waiting; ``BlockingIOError`` if held."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            raise BlockingIOError from None
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def run_folder(out, name):
    """``out/name`` for a run folder named in ``run.json``; ``ValueError`` if it leaves ``out``.

    ``name`` must be ``"."`` or one folder name such as ``lmbda=5`` or
    ``lmbda=5_seed=1``; an existing run folder must not be a symbolic link.

    Examples
    --------
    >>> run_folder("out", "lmbda=5")
    'out/lmbda=5'
    >>> run_folder("out", "../victim")
    Traceback (most recent call last):
    ...
    ValueError: run.json names the run folder '../victim'; a run folder is '.' or one name such as 'lmbda=5' inside the results folder
    """
    if not isinstance(name, str) or not (name == "." or _RUN_FOLDER.fullmatch(name)):
        raise ValueError(f"run.json names the run folder {name!r}; a run folder is '.' or one "
                         "name such as 'lmbda=5' inside the results folder")
    folder = os.path.normpath(os.path.join(out, name))
    if name != "." and os.path.islink(folder):
        raise ValueError(f"{folder} is a symbolic link; a run folder must be a folder inside "
                         f"{out}")
    return folder


# -- the manifest ----------------------------------------------------------------------
def _valid_entry(entry):
    if not isinstance(entry, str):
        return False
    parts = entry.split("/")
    return (len(parts) in (1, 2) and is_result_name(parts[-1])
            and (len(parts) == 1 or bool(_RUN_FOLDER.fullmatch(parts[0]))))


def read_manifest(out):
    """The entries of ``out``'s manifest (``[]`` without one); ``ValueError`` for a bad one."""
    path = os.path.join(out, MANIFEST_NAME)
    if not os.path.lexists(path):
        return []
    try:
        data = json.loads(read_regular(path, MAX_MANIFEST_BYTES).decode("utf-8"))
        files = data["files"]
        if not isinstance(files, list):
            raise TypeError("'files' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a wdecay manifest ({type(exc).__name__}: {exc}); "
                         "remove it only if you know which files in the folder are results")
    bad = [f for f in files if not _valid_entry(f)]
    if bad:
        raise ValueError(f"{path} lists {bad[0]!r}, which is not a file wdecay writes; the "
                         "manifest was edited")
    return files


def record(out, entries):
    """Add ``entries`` (paths relative to ``out``, with ``/``) to ``out``'s manifest.

    Earlier entries whose files no longer exist are dropped.
    """
    entries = list(entries)
    bad = [e for e in entries if not _valid_entry(e)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a result file wdecay writes")
    old = read_manifest(out)
    kept = [f for f in old if f in entries or existing(out, [f])]  # drop files long gone
    files = sorted(set(kept) | set(entries))
    if files != sorted(old):
        atomic_write(os.path.join(out, MANIFEST_NAME),
                     json.dumps({"format": "wdecay-manifest-1", "files": files},
                                indent=1).encode())


def existing(out, entries):
    """The entries that exist as files in ``out`` (the checkpoint entry expanded), sorted.

    A file counts only if it is a regular file or a symbolic link (never
    followed) in ``out`` or in a run folder that is not itself a link.
    """
    found = set()
    for entry in entries:
        parent, _, name = entry.rpartition("/")
        folder = os.path.join(out, parent) if parent else out
        if parent and (os.path.islink(folder) or not os.path.isdir(folder)):
            continue
        if name == CHECKPOINT_ENTRY:
            names = [n for n in os.listdir(folder) if _CHECKPOINT.fullmatch(n)]
        else:
            names = [name]
        for n in names:
            full = os.path.join(folder, n)
            if os.path.islink(full) or os.path.isfile(full):
                found.add(f"{parent}/{n}" if parent else n)
    return sorted(found)


def recorded(out):
    """The files of ``out``'s manifest that exist now: what ``--overwrite`` may delete."""
    return existing(out, read_manifest(out))


def remove(out, files):
    """Delete ``files`` (from :func:`existing`) and then run folders left empty."""
    folders = set()
    for rel in files:
        os.unlink(os.path.join(out, rel))
        if "/" in rel:
            folders.add(rel.split("/")[0])
    for name in sorted(folders):
        folder = os.path.join(out, name)
        if os.listdir(folder) == [LOCK_NAME]:  # the run's lock file, free since we hold out's
            os.unlink(os.path.join(folder, LOCK_NAME))
        try:
            os.rmdir(folder)
        except OSError:  # not empty: it holds files wdecay did not write
            pass
