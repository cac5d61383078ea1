"""Converters to and from network2's data format.

network2 trains on a list of ``(x, y)`` with x a (784, 1) column and y a
one-hot (10, 1) column, and evaluates on ``(x, label)`` pairs with an int label.
"""

from __future__ import annotations

import numpy as np


def to_network2(X, y, one_hot=True, n_classes=10):
    """Return a list of ``(column, one-hot column)`` (or ``(column, int)`` if not ``one_hot``).

    Examples
    --------
    >>> data = to_network2(np.zeros((2, 3)), np.array([1, 0]), n_classes=2)
    >>> data[0][0].shape, data[0][1].ravel().tolist()
    ((3, 1), [0.0, 1.0])
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if one_hot:
        eye = np.eye(n_classes)
        return [(x.reshape(-1, 1), eye[int(label)].reshape(-1, 1)) for x, label in zip(X, y)]
    return [(x.reshape(-1, 1), int(label)) for x, label in zip(X, y)]


def from_network2(data):
    """Return ``(X, y)`` from network2-format pairs: X (n, d), y int labels (n,).

    One-hot columns become their argmax. Accepts a list or any iterable.

    Examples
    --------
    >>> X, y = from_network2([(np.ones((3, 1)), 2)])
    >>> X.shape, y.tolist()
    ((1, 3), [2])
    """
    pairs = list(data)
    if not pairs:
        raise ValueError("`data` is empty: expected (x, y) pairs")
    X = np.stack([np.asarray(x, dtype=np.float64).reshape(-1) for x, _ in pairs])
    y = np.array([int(np.argmax(t)) if np.ndim(t) else int(t) for _, t in pairs], dtype=np.intp)
    return X, y


def write_mnist_pickle(path, splits):
    """Write ``splits`` as Nielsen's ``mnist.pkl.gz``: a gzip pickle of three (X float32, y) pairs.

    Lets network2 scripts (and ``wdecay.compat.mnist_loader``) run on other
    data, e.g. the embedded sample. The file is written atomically.
    """
    import gzip
    import io
    import pickle

    from .._files import atomic_write

    parts = tuple((np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)) for X, y in splits)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        pickle.dump(parts, fh, protocol=2)
    atomic_write(path, buf.getvalue())
