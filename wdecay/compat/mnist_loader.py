"""A drop-in replacement for network2's ``mnist_loader`` (Python 3 port).

Differences that only remove surprises: the wrapper returns lists, not one-shot
``zip`` iterators, so using the data twice does not silently give nothing, and
a missing file says how to get one.
"""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np

MISSING = ("no MNIST file at {path!r}. Download Nielsen's mnist.pkl.gz with "
           "`from wdecay.datasets import download_mnist; path, _ = download_mnist()` and "
           "pass load_data_wrapper(path), or use the embedded 5,000-digit sample: "
           "`from wdecay.datasets import load_mnist_sample, to_network2`.")


def load_data(path="mnist.pkl.gz"):
    """Return ``(training_data, validation_data, test_data)`` as pickled: tuples (X, y)."""
    if not os.path.exists(path):
        raise FileNotFoundError(MISSING.format(path=os.fspath(path)))
    with gzip.open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def load_data_wrapper(path="mnist.pkl.gz"):
    """Return lists: training ``(x (784, 1), one-hot (10, 1))``, validation and test ``(x, int)``."""
    tr_d, va_d, te_d = load_data(path)
    training_data = [(np.reshape(x, (784, 1)), vectorized_result(y))
                     for x, y in zip(tr_d[0], tr_d[1])]
    validation_data = [(np.reshape(x, (784, 1)), y) for x, y in zip(va_d[0], va_d[1])]
    test_data = [(np.reshape(x, (784, 1)), y) for x, y in zip(te_d[0], te_d[1])]
    return training_data, validation_data, test_data


def vectorized_result(j):
    """A (10, 1) unit vector with 1.0 in position ``j``."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e
