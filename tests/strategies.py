"""Shared hypothesis strategies: small networks, their data and training settings."""

import numpy as np
from hypothesis import strategies as st

from wdecay.activations import ACTIVATIONS
from wdecay.costs import COSTS

layer_sizes = st.lists(st.integers(1, 6), min_size=2, max_size=4)
costs = st.sampled_from(sorted(COSTS))
activations = st.sampled_from(sorted(ACTIVATIONS))
regularizers = st.sampled_from(["none", "l2", "l1"])
lmbdas = st.floats(0.0, 10.0)
seeds = st.integers(0, 2**32 - 1)


def make_data(sizes, n, seed):
    """Random inputs and integer labels for a network of ``sizes``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return X, y


def two_class_data(n=60, d=5, seed=0):
    """Inputs in [0, 1)^d and 0/1 labels a noisy linear rule of them (not separable)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    return X, (X[:, 0] + 0.3 * rng.standard_normal(n) > X[:, 1]).astype(int)
