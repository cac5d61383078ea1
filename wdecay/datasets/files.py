"""Readers for MNIST-format files: Nielsen's ``mnist.pkl.gz`` and the IDX gzip files."""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np

from .splits import DataSplits, check_split

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
N_VALIDATION = 10_000  # Nielsen's split of the 60,000 training images


def load_mnist(path):
    """Load MNIST from Nielsen's ``mnist.pkl.gz`` or from a folder of the four IDX files.

    The pickle holds a ``(training, validation, test)`` tuple of ``(X, y)``
    (50,000/10,000/10,000, X float32 in [0, 1]); it was written by Python 2 and
    needs ``encoding="latin1"``. IDX folders are split 50,000/10,000 for
    training and validation, as Nielsen's file is, and scaled to [0, 1].
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return load_idx_folder(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no MNIST file at {path!r}; get Nielsen's file with "
                                "wdecay.datasets.download_mnist()")
    try:
        with gzip.open(path, "rb") as fh:
            parts = pickle.load(fh, encoding="latin1")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise ValueError(f"{path!r} is not a readable mnist.pkl.gz: {exc}") from exc
    if not isinstance(parts, tuple) or len(parts) != 3:
        raise ValueError(f"{path!r} must pickle a (training, validation, test) tuple")
    names = ("training", "validation", "test")
    return DataSplits(*(check_split(X, y, f"{path} [{name}]")
                        for (X, y), name in zip(parts, names)))


def read_idx(path):
    """Read one gzip IDX file (MNIST's own format) into a uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{os.fspath(path)!r} is not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{os.fspath(path)!r} is truncated: header says {tuple(dims)}, "
                         f"found {data.size} values")
    return data.reshape(dims)


def load_idx_folder(folder, n_validation=N_VALIDATION):
    """Load the four IDX files in ``folder``; the last ``n_validation`` training images validate."""
    arrays = {}
    for key, name in IDX_FILES.items():
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{folder!r} lacks {name}; expected the four files "
                                    f"{', '.join(IDX_FILES.values())}")
        arrays[key] = read_idx(path)
    X = arrays["train_images"].reshape(len(arrays["train_images"]), -1) / 255.0
    y = arrays["train_labels"]
    X_test = arrays["test_images"].reshape(len(arrays["test_images"]), -1) / 255.0
    cut = len(X) - n_validation
    return DataSplits(check_split(X[:cut], y[:cut], f"{folder} [training]"),
                      check_split(X[cut:], y[cut:], f"{folder} [validation]"),
                      check_split(X_test, arrays["test_labels"], f"{folder} [test]"))


def load_fashion_mnist(path=None):
    """Load Fashion-MNIST's IDX files, by default from Debian's ``dataset-fashion-mnist``.

    Same shapes and split as :func:`load_idx_folder`.
    """
    folder = FASHION_MNIST_DIR if path is None else os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"no Fashion-MNIST at {folder!r}. On Debian or Ubuntu install it with "
            "'apt-get install dataset-fashion-mnist' (files land in "
            f"{FASHION_MNIST_DIR}), or pass the folder holding the four IDX .gz files")
    return load_idx_folder(folder)
