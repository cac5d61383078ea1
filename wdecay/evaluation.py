"""Full-data evaluation in chunks of rows: the one place that slices a data set for a forward pass.

A forward pass over n rows holds n x (sum of layer sizes) activations; evaluating
in chunks of :data:`EVAL_CHUNK` rows bounds that memory whatever n is, and sums
or concatenates the per-chunk results.
"""

from __future__ import annotations

import numpy as np

from . import passes

#: Rows per chunk when evaluating a large data set (network output and monitors).
EVAL_CHUNK = 8192


def chunks(n, size=EVAL_CHUNK):
    """Slices covering ``range(n)`` in consecutive pieces of at most ``size`` rows.

    Examples
    --------
    >>> [(s.start, s.stop) for s in chunks(5, 2)]
    [(0, 2), (2, 4), (4, 5)]
    """
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def chunked_sum(fn, X, *arrays, size=EVAL_CHUNK):
    """sum over chunks c of ``fn(X[c], *(a[c] for a in arrays))`` (numbers or arrays).

    Examples
    --------
    >>> float(chunked_sum(lambda x, y: (x * y).sum(), np.arange(5.0), np.ones(5), size=2))
    10.0
    """
    total = 0
    for c in chunks(len(X), size):
        total = total + fn(X[c], *(a[c] for a in arrays))
    return total


def chunked_rows(fn, X, size=EVAL_CHUNK):
    """``fn`` applied to chunks of rows of ``X``, its row blocks stacked back in order.

    Examples
    --------
    >>> chunked_rows(lambda x: 2 * x, np.arange(5), size=2).tolist()
    [0, 2, 4, 6, 8]
    """
    if len(X) <= size:
        return fn(X)
    return np.concatenate([fn(X[c]) for c in chunks(len(X), size)])


def chunked_backward(network, X, Y, on_layer, size=EVAL_CHUNK):
    """Forward and backward passes of ``network`` over ``X`` in chunks of rows.

    ``on_layer(layer, delta, a)`` sees each chunk's layers, as in
    :func:`wdecay.passes.backward`: ``delta`` holds dC_x/dz per example
    (one row each) and ``a`` the activations below the layer, so
    ``delta.T @ a`` is the chunk's summed weight gradient.
    """
    for c in chunks(len(X), size):
        zs, acts = passes.forward(network.weights, network.biases, network.activation,
                                  network.cost, X[c])
        passes.backward(network.weights, network.activation, network.cost, zs, acts, Y[c],
                        on_layer=on_layer)
