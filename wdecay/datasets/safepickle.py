"""A restricted reader for Nielsen's ``mnist.pkl.gz``: numpy arrays, dtypes and tuples only.

A pickle is a program: loading one with :func:`pickle.load` can import any
module and call any function, so a file from the network or from someone else
can run code on your machine. This reader admits only what Nielsen's file
contains: numeric numpy arrays, their dtypes and tuples (Python 2 wrote the
file; Python 3 writes byte strings through ``_codecs.encode(..., "latin1")``,
which is admitted for that encoding alone). Any other global, such as
``os.system`` or ``builtins.eval``, is refused before it is looked up, so no
payload runs. The decompressed stream is capped at ``max_bytes``, so a small
gzip bomb cannot fill the memory.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import pickle

import numpy as np

MAX_BYTES = 2**28  # 256 MiB; Nielsen's file is about 220 MB once decompressed
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: never objects or structures


class _NDArrayType:
    """Stands for ``numpy.ndarray`` in a pickle: a marker that cannot be called."""

    __slots__ = ()


_NDARRAY = _NDArrayType()


def _reconstruct(subtype, shape, dtype):
    """numpy's pickle constructor, for plain ndarrays of at most one byte-sized placeholder."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError(f"only numpy.ndarray may be rebuilt, not {subtype!r}")
    if int(np.prod(shape, dtype=np.int64)) > 1:
        raise pickle.UnpicklingError("numpy's placeholder array must be empty")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _dtype(spec, align=False, copy=False):
    dtype = np.dtype(spec, align, copy)
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
        raise pickle.UnpicklingError(f"dtype {dtype} is not a plain numeric type")
    return dtype


def _latin1(text, encoding="latin1", errors="strict"):
    if codecs.lookup(encoding).name != "iso8859-1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode is admitted for latin1 only, not {encoding!r}")
    return text.encode("latin1", errors)


def _empty_bytes(*args):
    """``bytes()``: how Python 3's protocol 2 writes the empty data of an empty array."""
    if args:
        raise pickle.UnpicklingError("bytes(...) is admitted without arguments only")
    return b""


ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,   # written by numpy < 2
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy >= 2
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name}: an MNIST pickle holds only numpy arrays, "
                "dtypes and tuples (a pickle can run code; this one tried to)") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


class _Capped:
    """The read methods pickle uses, on a stream that may give at most ``limit`` bytes in total."""

    def __init__(self, raw, limit):
        self.raw, self.left, self.limit = raw, limit, limit

    def _count(self, n):
        self.left -= n
        if self.left < 0:
            raise ValueError(f"it holds more than max_bytes={self.limit} decompressed "
                             "bytes; refusing to read further")
        return n

    def read(self, n=-1):
        n = self.left + 1 if n is None or n < 0 else min(n, self.left + 1)
        data = self.raw.read(n)
        self._count(len(data))
        return data

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        return self._count(self.raw.readinto(view[:self.left + 1]))

    def readline(self, size=-1):
        size = self.left + 1 if size is None or size < 0 else min(size, self.left + 1)
        line = self.raw.readline(size)
        self._count(len(line))
        return line


def read_mnist_pickle(source, max_bytes=MAX_BYTES, name=None):
    """Read a gzip pickle of MNIST splits without running any code it may hold.

    Parameters
    ----------
    source : str, path or bytes
        A ``mnist.pkl.gz`` file, or its bytes.
    max_bytes : int
        The most decompressed bytes read before refusing the file.
    name : str, optional
        How errors name the source.

    Returns
    -------
    tuple
        The ``(training, validation, test)`` tuple of ``(X, y)`` arrays, unchecked
        beyond the admitted types (see :func:`wdecay.datasets.load_mnist`).

    Raises
    ------
    ValueError
        If the file is not a gzip pickle, names any global other than numpy's
        array constructors (and ``bytes()`` for empty data), holds other objects than tuples of numeric arrays,
        or decompresses to more than ``max_bytes``.

    Examples
    --------
    >>> import gzip, pickle
    >>> blob = gzip.compress(pickle.dumps(((np.zeros((1, 2), np.float32), np.array([3])),), 2))
    >>> read_mnist_pickle(blob)[0][1]
    array([3])
    >>> evil = gzip.compress(pickle.dumps(print, 2))
    >>> read_mnist_pickle(evil, name="evil.pkl.gz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: evil.pkl.gz is not a readable mnist.pkl.gz: refusing global __builtin__.print: ...
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "the downloaded bytes"
        raw = io.BytesIO(bytes(source))
    else:
        name = name or repr(os.fspath(source))
        raw = open(source, "rb")
    try:
        with raw, gzip.GzipFile(fileobj=raw, mode="rb") as fh:
            parts = _Unpickler(_Capped(fh, max_bytes), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError) as exc:
        raise ValueError(f"{name} is not a readable mnist.pkl.gz: {exc}") from None
    _check_types(parts, name)
    return parts


def _check_types(obj, name):
    """Only tuples (and lists) of plain numeric arrays may come out; iterative, so depth is no risk."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            if type(item) is not np.ndarray or item.dtype.kind not in NUMERIC_KINDS:
                raise ValueError(f"{name} holds an array of dtype {item.dtype}, not numbers")
        else:
            raise ValueError(f"{name} holds a {type(item).__name__}; an MNIST pickle holds "
                             "only tuples of numpy arrays")
