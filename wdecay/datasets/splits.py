"""The container every loader returns: training, validation and test pairs ``(X, y)``."""

from __future__ import annotations

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


def check_split(X, y, name):
    """Validate a loaded split's structure; raise ValueError naming the file part."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"{name}: expected images (n, d) and labels (n,), "
                         f"got shapes {X.shape} and {y.shape}")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{name}: labels must be digits 0-9, got [{y.min()}, {y.max()}]")
    return np.ascontiguousarray(X, dtype=np.float64), y.astype(np.intp)
