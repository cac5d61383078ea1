"""A drop-in replacement for network2's ``mnist_loader`` (Python 3 port).

Differences that only remove surprises:

- ``load_data()`` without a path finds ``mnist.pkl.gz`` where a book script
  expects it, in this order: ``./mnist.pkl.gz``; ``../data/mnist.pkl.gz`` (the
  book's layout, scripts run from ``src/``); ``$WDECAY_DATA`` (a folder holding
  the file, or the file itself); ``download_mnist``'s cache
  (``~/.cache/wdecay/mnist.pkl.gz``). When none exists it says, in one line,
  how to get one.
- The file is a pickle, and a pickle is code: it is read with wdecay's
  restricted unpickler, which admits only numpy arrays, dtypes and tuples, so a
  hostile file cannot run anything.
- The wrapper returns lists, not one-shot ``zip`` iterators, so using the data
  twice does not silently give nothing.
"""

from __future__ import annotations

import numpy as np

from ..datasets.files import find_mnist, load_mnist


def load_data(path=None):
    """Return ``(training_data, validation_data, test_data)``: three tuples ``(X, y)``.

    X is float64 (n, 784) holding the file's float32 values exactly, y integer
    labels; every split is checked (shapes, finite pixels, labels 0-9).
    ``path`` may also be a folder of the four IDX files; ``None`` searches as
    the module docstring says.

    Raises
    ------
    FileNotFoundError
        No file, with the one-line fix.
    ValueError
        A file that is not a readable MNIST pickle (or tries to run code).
    """
    if path is None:
        path = find_mnist()
    splits = load_mnist(path)
    return tuple((X, y) for X, y in splits)


def load_data_wrapper(path=None):
    """Return lists: training ``(x (784, 1), one-hot (10, 1))``, validation and test ``(x, int)``."""
    tr_d, va_d, te_d = load_data(path)
    training_data = [(np.reshape(x, (784, 1)), vectorized_result(y))
                     for x, y in zip(tr_d[0], tr_d[1])]
    validation_data = [(np.reshape(x, (784, 1)), int(y)) for x, y in zip(va_d[0], va_d[1])]
    test_data = [(np.reshape(x, (784, 1)), int(y)) for x, y in zip(te_d[0], te_d[1])]
    return training_data, validation_data, test_data


def vectorized_result(j):
    """A (10, 1) unit vector with 1.0 in position ``j``."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e
