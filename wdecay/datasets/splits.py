"""The container every loader returns: training, validation and test pairs ``(X, y)``."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np


class DataSplits(NamedTuple):
    """Three ``(X, y)`` pairs; X float64 (n, 784) in [0, 1], y integer labels."""

    training: tuple
    validation: tuple
    test: tuple

    def __repr__(self):
        sizes = ", ".join(f"{name}={len(pair[0])}" for name, pair in zip(self._fields, self))
        return f"DataSplits({sizes})"


def check_labels(y, name, n_classes=10):
    """Return ``y`` as integer labels in ``[0, n_classes)``; refuse fractions and other classes.

    Examples
    --------
    >>> check_labels(np.array([1.0, 2.0]), "y").tolist()
    [1, 2]
    >>> check_labels(np.array([2.5]), "y")
    Traceback (most recent call last):
    ...
    ValueError: y: labels must be whole numbers 0-9, got 2.5
    """
    y = np.asarray(y)
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise ValueError(f"{name}: labels must be integers 0-{n_classes - 1}, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ValueError(f"{name}: labels must be whole numbers 0-{n_classes - 1}, "
                             f"got {float(y[bad][0]):g}")
    if y.size and (y.min() < 0 or y.max() > n_classes - 1):
        raise ValueError(f"{name}: labels must be 0-{n_classes - 1}, got values in "
                         f"[{y.min():g}, {y.max():g}]")
    return y.astype(np.intp)


def check_split(X, y, name):
    """Validate a loaded split's structure; raise ValueError naming the file part.

    Images must be a finite 2-d numeric array, labels whole numbers 0-9, one per image.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"{name}: expected images (n, d) and labels (n,), "
                         f"got shapes {X.shape} and {y.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name}: images must be numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        bad = int(X.size - np.count_nonzero(np.isfinite(X)))
        raise ValueError(f"{name}: images contain {bad} NaN or inf pixels; they must be finite")
    return X, check_labels(y, name)


def check_splits(parts, source, names=("training", "validation", "test")):
    """Check three ``(X, y)`` pairs from ``source`` and return :class:`DataSplits`.

    Beyond :func:`check_split`: training must be non-empty, every split has the
    training set's number of pixels, and one warning is given when the images
    look like 0-255 pixels rather than [0, 1].
    """
    splits = [check_split(X, y, f"{source} [{name}]") for (X, y), name in zip(parts, names)]
    d = splits[0][0].shape[1]
    if len(splits[0][0]) == 0:
        raise ValueError(f"{source} [training]: no training images")
    for (X, _), name in zip(splits[1:], names[1:]):
        if X.shape[1] != d:
            raise ValueError(f"{source} [{name}]: images have {X.shape[1]} pixels, but the "
                             f"training images have {d}; all splits must have the same size")
    warn_if_unscaled([X for X, _ in splits], source)
    return DataSplits(*splits)


def warn_if_unscaled(arrays, source):
    """Warn (once per call) if pixel values exceed 1, as 0-255 images do."""
    top = max((float(X.max()) for X in arrays if X.size), default=0.0)
    if top > 1.0:
        warnings.warn(f"{source}: pixel values reach {top:g}; they look like 0-255 pixels, "
                      "while wdecay's networks expect [0, 1] (divide by 255)",
                      UserWarning, stacklevel=3)
    return top > 1.0
