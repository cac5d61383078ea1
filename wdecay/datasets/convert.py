"""Converters to and from network2's data format.

network2 trains on a list of ``(x, y)`` with x a (784, 1) column and y a
one-hot (10, 1) column, and evaluates on ``(x, label)`` pairs with an int label.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_features, check_scalar
from .splits import check_labels, warn_if_unscaled


def to_network2(X, y, one_hot=True, n_classes=10):
    """Return a list of ``(column, one-hot column)`` (or ``(column, int)`` if not ``one_hot``).

    Labels must be whole numbers in ``[0, n_classes)`` and X finite; anything
    else raises ``ValueError`` (a label -1 would otherwise index class
    ``n_classes - 1``). Warns if X looks like 0-255 pixels.

    Examples
    --------
    >>> data = to_network2(np.zeros((2, 3)), np.array([1, 0]), n_classes=2)
    >>> data[0][0].shape, data[0][1].ravel().tolist()
    ((3, 1), [0.0, 1.0])
    """
    check_scalar(n_classes, "n_classes", kind=numbers.Integral, low=1)
    X = check_features(X, "X")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"`y` must hold one label per row of X ({len(X)}), got shape {y.shape}")
    y = check_labels(y, "`y`", n_classes)
    warn_if_unscaled([X], "to_network2: `X`")
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
    try:
        columns = [np.asarray(x, dtype=np.float64).reshape(-1) for x, _ in pairs]
    except (TypeError, ValueError):
        raise TypeError("`data` must hold (x, y) pairs with numeric arrays x, "
                        "as network2's") from None
    bad = next((i for i, x in enumerate(columns) if x.size != columns[0].size), None)
    if bad is not None:
        raise ValueError(f"`data` inputs must all have the same size: example 0 has "
                         f"{columns[0].size} values (shape {np.shape(pairs[0][0])}), example "
                         f"{bad} has {columns[bad].size} (shape {np.shape(pairs[bad][0])})")
    X = np.stack(columns)
    y = np.array([int(np.argmax(t)) if np.ndim(t) else int(t) for _, t in pairs], dtype=np.intp)
    return X, y


def write_mnist_pickle(path, splits):
    """Write ``splits`` as Nielsen's ``mnist.pkl.gz``: a gzip pickle of three (X float32, y) pairs.

    Lets network2 scripts (and ``wdecay.compat.mnist_loader``) run on other
    data, e.g. the embedded sample. The file is written atomically.

    Give the file a name of its own (``mnist_sample.pkl.gz``, not
    ``mnist.pkl.gz``) unless it is the real data set: the loaders find
    ``mnist.pkl.gz`` by name. The file is a pickle of numpy arrays only; wdecay
    reads it back with its restricted unpickler. It is compressed at gzip's fastest
    level, 1, so that writing it is quick.
    """
    import gzip
    import io
    import pickle

    from .._files import atomic_write

    parts = tuple((np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)) for X, y in splits)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=1) as fh:
        pickle.dump(parts, fh, protocol=2)
    atomic_write(path, buf.getvalue())
