"""The one epoch loop, shared by :func:`wdecay.fit` and :func:`wdecay.sweep.train_many`.

The loop knows nothing about how a step is computed. For one or several
:class:`Run` (a network's monitors, training state and history) it calls, in
this order::

    on_train_begin(state)                   # every run
    ready()                                 # the caller reads flags monitors set above
    on_epoch_end(state)  -> record epoch 0  # only when starting from scratch
    for each epoch:
        on_epoch_begin(state)
        order = permute()                   # the epoch's mini-batch order
        run_epoch(order, epoch)             # all steps of the epoch (replaceable)
        check_finite(epoch)                 # raise, or mark diverged runs
        on_epoch_end(state)  -> record epoch
        stop if every live run set state.stop_training
    on_train_end(state)

:func:`record` is the only place that writes history records.
"""

from __future__ import annotations

import numpy as np

from ._threads import blas_threads
from ._validation import check_features, check_targets
from .monitors.base import Monitor, MonitorList

TRAINING_BLAS_THREADS = 1  # measured fastest at batch sizes 10-100; benchmarks/blas_threads.py


class TrainingDivergedError(FloatingPointError):
    """Weights became NaN or inf; ``history`` keeps the records up to that epoch."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


class Run:
    """One network inside the loop: its monitors, training state and history."""

    def __init__(self, monitors, state, history):
        self.monitors, self.state, self.history = monitors, state, history
        self.alive = True

    def call(self, hook):
        return self.monitors.call(hook, self.state)


def record(run, epoch, values):
    """Append the record of ``epoch`` with ``values`` to the run's history."""
    run.history.append({"epoch": epoch, **values})


def parameters_finite(network):
    """True if no weight or bias of ``network`` is NaN or inf."""
    return all(np.isfinite(w).all() and np.isfinite(b).all()
               for w, b in zip(network.weights, network.biases))


def train_loop(runs, *, first, epochs, permute, run_epoch, check_finite, ready=None):
    """Run the hooks, the epochs and the records of ``runs``; see the module docstring.

    ``first`` is the first epoch's number (0: record the initial state as epoch
    0, then train epochs 1..epochs). ``run_epoch(order, epoch)`` does every step
    of one epoch in place; ``check_finite(epoch)`` raises or sets ``run.alive``
    to False (after recording why).
    """
    with blas_threads(TRAINING_BLAS_THREADS):
        for run in runs:
            run.call("on_train_begin")
        if ready is not None:
            ready()
        if first == 0:
            for run in runs:
                run.state.epoch = 0
                record(run, 0, run.call("on_epoch_end"))
            first = 1
        for epoch in range(first, first + int(epochs)):
            live = [run for run in runs if run.alive]
            for run in live:
                run.state.epoch, run.state.batch = epoch, 0
                run.call("on_epoch_begin")
            run_epoch(permute(), epoch)
            check_finite(epoch)
            live = [run for run in live if run.alive]
            for run in live:
                record(run, epoch, run.call("on_epoch_end"))
            if not live or all(run.state.stop_training for run in live):
                break
        for run in runs:
            if run.alive:
                run.call("on_train_end")


def check_evaluation(evaluation_data, network):
    """Validated ``(X_eval, labels)`` from a pair, or None."""
    if evaluation_data is None:
        return None
    try:
        X_eval, y_eval = evaluation_data
    except (TypeError, ValueError):
        raise TypeError("`evaluation_data` must be a pair (X_eval, y_eval)") from None
    X_eval = check_features(X_eval, "evaluation_data X", network.sizes[0])
    labels, _ = check_targets(y_eval, len(X_eval), network.sizes[-1], "evaluation_data y")
    return X_eval, labels


def monitor_list(monitors):
    """A :class:`MonitorList` of ``monitors`` (one Monitor, a sequence of them, or None)."""
    if isinstance(monitors, Monitor):
        monitors = [monitors]
    elif monitors is None:
        monitors = []
    try:
        monitors = list(monitors)
    except TypeError:
        raise TypeError(f"`monitors` must be a Monitor or a sequence of Monitors, "
                        f"got {monitors!r}") from None
    return MonitorList(monitors)
