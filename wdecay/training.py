"""Nielsen's mini-batch SGD, vectorized over the mini-batch.

For a mini-batch B of a training set of size n, every step does::

    w <- w + decay(w) - (eta / |B|) sum_{x in B} dC_x/dw    (decay from the regularizer)
    b <- b - (eta / |B|) sum_{x in B} dC_x/db               (biases are never decayed)

with decay(w) = -(eta lmbda / n) w for L2, -(eta lmbda / n) sign(w) for L1.
Each epoch draws a fresh permutation of indices; mini-batches are consecutive
slices of it, the last one shorter if |B| does not divide n. The data set is
never copied: each step gathers its rows into preallocated buffers.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._threads import blas_threads
from ._validation import check_features, check_scalar, check_targets
from .history import History
from .monitors.base import MonitorList, StepParts, TrainingState, read_only
from .regularizers import get_regularizer

TRAINING_BLAS_THREADS = 1  # measured fastest at batch sizes 10-100; benchmarks/blas_threads.py


class TrainingDivergedError(FloatingPointError):
    """Weights became NaN or inf; ``history`` keeps the records up to that epoch."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


class SGDStep:
    """One vectorized SGD step with preallocated buffers for batches up to ``batch_size``.

    ``__call__(X, Y, idx, eta, n, regularizer)`` updates ``network`` in place
    using rows ``idx`` of ``X`` and targets ``Y``. Set ``record = True`` to keep
    the step's parts (weights before, mean gradients, decay and gradient
    updates) for per-batch monitors.
    """

    def __init__(self, network, batch_size):
        self.net = network
        sizes = network.sizes
        dt = network.weights[0].dtype
        self._full = [np.empty((batch_size, s), dt) for s in sizes]  # inputs, then activations
        self._z = [np.empty((batch_size, s), dt) for s in sizes[1:]]
        self._delta = [np.empty((batch_size, s), dt) for s in sizes[1:]]
        self._targets = np.empty((batch_size, sizes[-1]), dt)
        self.grad_w = [np.empty_like(w) for w in network.weights]
        self.grad_b = [np.empty_like(b) for b in network.biases]
        self._views = {}
        self.record = False
        self.keep_weights_before = True

    def _buffers(self, m):
        """Row views of the buffers for a batch of ``m`` rows (cached per size)."""
        views = self._views.get(m)
        if views is None:
            views = ([a[:m] for a in self._full], [z[:m] for z in self._z],
                     [d[:m] for d in self._delta], self._targets[:m])
            self._views[m] = views
        return views

    def __call__(self, X, Y, idx, eta, n, regularizer):
        acts, _, _, targets = self._buffers(len(idx))
        np.take(X, idx, axis=0, out=acts[0], mode="clip")
        np.take(Y, idx, axis=0, out=targets, mode="clip")
        self.run(len(idx), eta, n, regularizer)

    def load_batch(self, m):
        """The input and target buffers (m rows) to fill before calling :meth:`run`."""
        acts, _, _, targets = self._buffers(m)
        return acts[0], targets

    def run(self, m, eta, n, regularizer):
        """The step on the ``m`` rows already in the input and target buffers."""
        net = self.net
        weights, biases, grad_w, grad_b = net.weights, net.biases, self.grad_w, self.grad_b
        acts, zs, deltas, targets = self._buffers(m)
        hidden = net.activation
        last = len(weights) - 1
        for layer in range(last):
            z = zs[layer]
            np.matmul(acts[layer], weights[layer].T, out=z)
            z += biases[layer]
            hidden.fn(z, out=acts[layer + 1])
        z = zs[last]
        np.matmul(acts[last], weights[last].T, out=z)
        z += biases[last]
        net.cost.output(z, out=acts[last + 1])
        # delta holds (eta/m) dC_x/dz, so the products below give scaled gradient sums.
        delta = net.cost.delta(z, acts[last + 1], targets, out=deltas[last])
        delta *= eta / m
        for layer in range(last, 0, -1):
            np.matmul(delta.T, acts[layer], out=grad_w[layer])
            np.add.reduce(delta, axis=0, out=grad_b[layer])
            below = deltas[layer - 1]
            np.matmul(delta, weights[layer], out=below)
            hidden.multiply_prime(below, acts[layer])
            delta = below
        np.matmul(delta.T, acts[0], out=grad_w[0])
        np.add.reduce(delta, axis=0, out=grad_b[0])
        if self.record:
            self._record_parts(eta, n, regularizer)
        for layer in range(last + 1):
            w = weights[layer]
            regularizer.decay(w, eta, n)
            w -= grad_w[layer]
            biases[layer] -= grad_b[layer]

    def _record_parts(self, eta, n, regularizer):
        if not hasattr(self, "_before"):
            self._before = [np.empty_like(w) for w in self.net.weights]
            self._before_views = tuple(read_only(w) for w in self._before)
            self.parts = StepParts(None, tuple(read_only(g) for g in self.grad_w),
                                   tuple(read_only(g) for g in self.grad_b), eta, n, regularizer)
        if self.keep_weights_before:
            for buf, w in zip(self._before, self.net.weights):
                np.copyto(buf, w)
        parts = self.parts
        parts.weights_before = self._before_views if self.keep_weights_before else None
        parts.eta, parts.n, parts.regularizer = eta, n, regularizer
        parts.renew()


def fit(network, X, y, *, epochs, batch_size, eta, regularizer=None,
        evaluation_data=None, monitors=(), seed=None, history=None):
    """Train ``network`` in place by Nielsen's mini-batch SGD; return the history.

    Parameters
    ----------
    network : Network
    X : array (n, sizes[0])
        Training inputs; ``n`` is also the ``n`` of the weight penalty.
    y : array (n,) of int labels or (n, sizes[-1]) of targets
    epochs : int >= 0
    batch_size : int >= 1
    eta : float > 0
    regularizer : Regularizer, optional
        ``L2(lmbda)``, ``L1(lmbda)`` or None for no penalty.
    evaluation_data : tuple (X_eval, y_eval), optional
        Recorded as ``eval/accuracy`` and ``eval/cost`` each epoch.
    monitors : sequence of Monitor
        Called in order; see :mod:`wdecay.monitors`.
    seed : int, Generator or None
        Seed of the mini-batch order.
    history : History, optional
        A history to continue; epochs are then numbered after its last record.

    Returns
    -------
    History
        One record per epoch, epoch 0 holding the initial values.

    Raises
    ------
    TrainingDivergedError
        If weights become NaN or inf; the message names the epoch.
    """
    dtype = network.weights[0].dtype
    X = check_features(X, "X", network.sizes[0], dtype=dtype)
    labels, Y = check_targets(y, len(X), network.sizes[-1], dtype=dtype)
    check_scalar(epochs, "epochs", kind=numbers.Integral, low=0)
    check_scalar(batch_size, "batch_size", kind=numbers.Integral, low=1)
    check_scalar(eta, "eta", low=0, inclusive=False)
    regularizer = get_regularizer(regularizer)
    evaluation = _check_evaluation(evaluation_data, network)
    n, m = len(X), int(batch_size)
    rng = np.random.default_rng(seed)
    history = History() if history is None else history
    monitors = MonitorList(_with_default_monitors(monitors, evaluation))
    state = TrainingState(network, eta=float(eta), regularizer=regularizer, batch_size=m,
                          n=n, history=history, train_data=(X, labels),
                          evaluation_data=evaluation)
    step = SGDStep(network, min(m, n))
    step.record = monitors.per_batch
    first = int(history.last("epoch", -1)) + 1
    state.last_epoch = max(first, 1) + int(epochs) - 1
    with blas_threads(TRAINING_BLAS_THREADS):
        monitors.call("on_train_begin", state)
        step.keep_weights_before = monitors.needs_weights_before
        if first == 0:
            state.epoch = 0
            history.append({"epoch": 0, **monitors.call("on_epoch_end", state)})
            first = 1
        for epoch in range(first, first + int(epochs)):
            state.epoch, state.batch = epoch, 0
            monitors.call("on_epoch_begin", state)
            order = rng.permutation(n)
            for k, start in enumerate(range(0, n, m)):
                step(X, Y, order[start:start + m], eta, n, regularizer)
                if step.record:
                    state.batch, state.step = k, step.parts
                    monitors.call_batch_end(state)
            state.step = None
            _check_finite(network, epoch, eta, history)
            history.append({"epoch": epoch, **monitors.call("on_epoch_end", state)})
            if state.stop_training:
                break
        monitors.call("on_train_end", state)
    return history


def _check_evaluation(evaluation_data, network):
    if evaluation_data is None:
        return None
    try:
        X_eval, y_eval = evaluation_data
    except (TypeError, ValueError):
        raise TypeError("`evaluation_data` must be a pair (X_eval, y_eval)") from None
    X_eval = check_features(X_eval, "evaluation_data X", network.sizes[0])
    labels, _ = check_targets(y_eval, len(X_eval), network.sizes[-1], "evaluation_data y")
    return X_eval, labels


def _with_default_monitors(monitors, evaluation):
    from .monitors.metrics import Accuracy, Cost

    monitors = list(monitors)
    if evaluation is not None:
        if not any(isinstance(mo, Accuracy) and mo.on == "evaluation" for mo in monitors):
            monitors.insert(0, Accuracy("evaluation"))
        if not any(isinstance(mo, Cost) and mo.on == "evaluation" for mo in monitors):
            monitors.insert(1, Cost("evaluation"))
    return monitors


def _check_finite(network, epoch, eta, history):
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise TrainingDivergedError(
                f"training diverged in epoch {epoch}: layer {i + 1}'s parameters became "
                f"NaN or inf; try a smaller eta (got eta={eta})", history)
