"""The radial balance of the full-batch gradient against decay, per layer and epoch."""

from __future__ import annotations

import math

import numpy as np

from ..passes import backward
from .base import Monitor

MAX_ROWS = 4096  # above this many training rows, kappa uses a fixed random subsample
EPS = float(np.finfo(np.float64).eps)
PULL_RTOL = 1e-9  # the largest rounding of <W, grad C0> taken through z - b, relative


class Balance(Monitor):
    """kappa = -<W, grad C0> / <W, grad penalty> per layer, at the end of every epoch.

    grad C0 is the full-batch gradient of the unregularized *mean* cost on the
    training data; under L2, <W, grad penalty> = (lmbda/n) ||W||^2, so::

        kappa = -<W, grad C0> / ((lmbda / n) ||W||^2).

    kappa is about 0 while decay alone sets the layer's norm, 1 where the
    gradient's radial pull balances decay (a stationary point of C0 + penalty,
    see :mod:`wdecay.equilibrium`), above 1 where the gradient makes the layer
    grow against decay and negative where the gradient shrinks it as well. It
    is the full-batch, first-order part of the norm budget's ratio R: R is
    about kappa + Q/(-D). Keys: ``layer{l}/kappa``, and its parts
    ``layer{l}/radial_gradient`` = -<W, grad C0> and ``layer{l}/radial_decay``
    = <W, grad penalty>. Without decay kappa is NaN.

    With more than ``max_rows`` training rows the gradient is taken on a fixed
    subsample of ``max_rows`` rows, drawn once with ``seed``; the default
    covers the whole 4,000-row MNIST sample. Cost: one forward and backward
    pass over those rows per epoch; the backward pass takes each layer's
    <W, grad C0> as sum(delta * (z - b)) (the sum over rows of delta times
    a W^T), which needs no product of the deltas with the layer's input, unless
    rounding z - b could move the sum by more than 1e-9 of itself (weights
    tiny against the biases), where it takes <W, delta^T a> instead.

    Examples
    --------
    >>> import numpy as np, wdecay
    >>> X, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    >>> h = wdecay.Network([4, 3, 2], seed=0).fit(X, y, epochs=1, batch_size=5, eta=0.1,
    ...     regularizer=wdecay.L2(1.0), monitors=[Balance()])
    >>> "layer1/kappa" in h
    True
    """

    def __init__(self, max_rows=MAX_ROWS, seed=0):
        if max_rows < 1:
            raise ValueError(f"`max_rows` must be >= 1, got {max_rows}")
        self.max_rows, self.seed = int(max_rows), seed

    def on_train_begin(self, state):
        X, labels = state.train_data
        rows = None
        if len(X) > self.max_rows:
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(len(X), self.max_rows, replace=False))
        X = X if rows is None else X[rows]
        labels = labels if rows is None else labels[rows]
        Y = np.zeros((len(X), state.sizes[-1]))
        Y[np.arange(len(X)), np.asarray(labels, dtype=np.intp)] = 1.0
        self._X, self._Y = np.asarray(X, dtype=np.float64), Y

    def on_epoch_end(self, state):
        # <W, delta^T a> = sum(delta * (a W^T)) and a W^T = z - b, so the backward pass
        # needs no product with the layer's input: for 4,000 MNIST rows that input is
        # 25 MB, which the forward pass has just read once
        zs, acts = state.forward(self._X)
        pulls, rows, weights = {}, len(self._X), state.weights

        def pull(layer, delta, a):
            b = state.biases[layer]
            value = float(np.vdot(delta, zs[layer] - b))
            # z - b rounds each entry by at most eps (|z| + |b|): where that could move the
            # sum by more than PULL_RTOL of itself (weights tiny against the biases), the
            # product with the input instead
            if EPS * float(np.vdot(np.abs(delta), np.abs(zs[layer]) + np.abs(b))) > \
                    PULL_RTOL * abs(value):
                value = float(np.vdot(weights[layer], delta.T @ a))
            pulls[layer] = -value / rows

        backward(weights, state.activation, state.cost, zs, acts, self._Y, on_layer=pull)
        out = {}
        for l, w in enumerate(weights, 1):
            decay = float(np.vdot(w, state.regularizer.gradient(w, state.n)))
            out.update({f"layer{l}/kappa": pulls[l - 1] / decay if decay > 0 else math.nan,
                        f"layer{l}/radial_gradient": pulls[l - 1],
                        f"layer{l}/radial_decay": decay})
        return out
