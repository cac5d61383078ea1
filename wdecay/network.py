"""Fully connected feed-forward networks in ``network2.py``'s orientation.

``weights[l]`` has shape (sizes[l+1], sizes[l]) and ``biases[l]`` shape
(sizes[l+1],). Data are batches of rows: ``X`` has shape (n_samples, sizes[0]),
and layer l maps a -> f(a W_l^T + b_l).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import passes
from ._validation import check_features, check_targets
from .activations import get_activation
from .costs import get_cost
from .evaluation import EVAL_CHUNK, chunked_rows  # noqa: F401 (EVAL_CHUNK: old import path)
from .initializers import get_initializer



class Network:
    """A sigmoid (or tanh, ReLU) network trained by Nielsen's mini-batch SGD.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first, e.g. ``[784, 30, 10]``.
    cost : str, Cost or Cost class
        ``"cross-entropy"`` (default), ``"quadratic"`` or ``"log-likelihood"``.
    initializer : str or Initializer
        ``"default"`` (weights N(0, 1/n_in)) or ``"large"`` (N(0, 1)).
    activation : str or Activation
        Hidden activation: ``"sigmoid"`` (default), ``"tanh"`` or ``"relu"``.
    seed : int, Generator or None
        Seed of the initial weights.
    dtype : numpy float dtype
        ``np.float64`` (default) or ``np.float32``: the weights' precision, and
        that of the one copy of the training inputs ``fit`` works on.

    Examples
    --------
    >>> net = Network([4, 3, 2], seed=0)
    >>> net.feedforward(np.zeros((5, 4))).shape
    (5, 2)
    """

    def __init__(self, sizes, cost="cross-entropy", initializer="default",
                 activation="sigmoid", seed=None, dtype=np.float64):
        sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else sizes
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError(f"`sizes` must list at least 2 layer sizes, got {sizes!r}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
                raise ValueError(f"`sizes` must be positive integers, got {sizes!r}")
        self.sizes = [int(s) for s in sizes]
        self.cost = get_cost(cost)
        self.activation = get_activation(activation)
        self.initializer = get_initializer(initializer)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"`dtype` must be float64 or float32, got {self.dtype}")
        weights, biases = self.initializer.init(self.sizes, np.random.default_rng(seed))
        self.weights = [w.astype(self.dtype, copy=False) for w in weights]
        self.biases = [b.astype(self.dtype, copy=False) for b in biases]

    # -- structure -------------------------------------------------------------
    @property
    def num_layers(self):
        """Number of layers including the input layer."""
        return len(self.sizes)

    @property
    def n_weights(self):
        """Total number of weights N (biases excluded)."""
        return sum(w.size for w in self.weights)

    def parameters(self):
        """All weight and bias arrays, weights first."""
        return [*self.weights, *self.biases]

    def copy(self):
        """An independent copy of the network."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.weights = [w.copy() for w in self.weights]
        other.biases = [b.copy() for b in self.biases]
        return other

    def __repr__(self):
        return (f"Network(sizes={self.sizes}, cost={self.cost.name!r}, "
                f"activation={self.activation.name!r}, "
                f"initializer={self.initializer.name!r})")

    # -- forward and backward --------------------------------------------------
    def forward(self, X):
        """Return the weighted inputs ``zs`` and activations (input first) for ``X``.

        The one forward pass of :mod:`wdecay.passes`, which training also runs.
        """
        return passes.forward(self.weights, self.biases, self.activation, self.cost, X)

    def feedforward(self, X):
        """Network output for the rows of ``X``, shape (n_samples, sizes[-1])."""
        X = check_features(X, "X", self.sizes[0])
        return chunked_rows(lambda rows: self.forward(rows)[1][-1], X)

    def backprop(self, X, Y):
        """Gradients of the summed cost sum_x C_x over the rows of ``X``.

        Returns ``(grad_weights, grad_biases)``, lists shaped like the parameters.
        ``Y`` are targets of shape (n_samples, sizes[-1]). The backward pass of
        :mod:`wdecay.passes` that training runs, without the step's scaling.

        Examples
        --------
        >>> net = Network([3, 2], seed=0)
        >>> gw, gb = net.backprop(np.zeros((4, 3)), np.zeros((4, 2)))
        >>> gw[0].shape, gb[0].shape
        ((2, 3), (2,))
        """
        zs, activations = self.forward(X)
        return passes.backward(self.weights, self.activation, self.cost, zs, activations, Y)

    # -- evaluation ------------------------------------------------------------
    def predict(self, X):
        """Predicted class indices, the argmax of the output."""
        return np.argmax(self.feedforward(X), axis=1)

    def accuracy(self, X, y):
        """Fraction of rows whose predicted class equals the label (or one-hot argmax)."""
        X = check_features(X, "X", self.sizes[0])
        labels, _ = check_targets(y, len(X), self.sizes[-1])
        return float(np.mean(self.predict(X) == labels))

    # -- training --------------------------------------------------------------
    def fit(self, X, y, *, epochs, batch_size, eta, regularizer=None,
            evaluation_data=None, monitors=(), seed=None, history=None, optimizer=None,
            backend="auto", reset_optimizer=True, **unknown):
        """Train by mini-batch SGD (Nielsen's update by default); see :func:`wdecay.training.fit`."""
        from .training import fit

        return fit(self, X, y, epochs=epochs, batch_size=batch_size, eta=eta,
                   regularizer=regularizer, evaluation_data=evaluation_data,
                   monitors=monitors, seed=seed, history=history, optimizer=optimizer,
                   backend=backend, reset_optimizer=reset_optimizer, **unknown)
