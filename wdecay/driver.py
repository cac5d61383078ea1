"""One driver for :func:`wdecay.fit` (one network) and :func:`wdecay.sweep.train_many` (K networks).

The driver validates the data, builds each network's monitors and
:class:`~wdecay.monitors.TrainingState`, picks a kernel, runs
:func:`wdecay.loop.train_loop` and checks finiteness after every epoch. A
kernel is the backend that computes an epoch's steps; each one implements::

    Kernel.refusal(plan) -> None, or one line saying why it cannot run the plan
    Kernel.prepare(plan) -> kernel       # buffers, decay settings, once per training
    kernel.ready(monitors)               # after on_train_begin (flags monitors set)
    kernel.run_epoch(orders, alive)      # every step of one epoch, in place

``orders`` holds one permutation of the rows per order (one shared order, or
one per network when they draw their own); ``alive[k]`` is False for a network
marked diverged. The kernels are :class:`wdecay.training.Step` (numpy, one
network), :class:`wdecay.sweep.lockstep.Lockstep` (numpy, K stacked networks)
and :class:`wdecay.numba_backend.NumbaEpoch` (compiled, one network after
another).
"""

from __future__ import annotations

import numpy as np

from . import config
from ._validation import check_features, check_targets
from .loop import Run, TrainingDivergedError, check_evaluation, monitor_list, record, train_loop
from .monitors.base import TrainingState
from .monitors.metrics import with_evaluation_metrics

__all__ = ["BACKENDS", "Plan", "validate", "choose_kernel", "diverged_layer", "drive"]

BACKENDS = ("auto", "numpy", "numba")


class Plan:
    """What a kernel is asked to run: the networks, the data and each network's step settings.

    Parameters
    ----------
    networks : list of Network
        Of the same sizes, cost, activation and dtype.
    X, Y : arrays (n, sizes[0]) and (n, sizes[-1])
        Validated inputs and targets in the networks' dtype.
    batch_size : int
    etas, regularizers : one per network
    optimizer : Optimizer
    per_batch : bool
        Some monitor has ``on_batch_end`` (set by :func:`drive` from the monitors).
    separate : bool
        Every network draws its own mini-batch order.
    on_step : callable (batch, parts), optional
        Called after every step for per-batch monitors.
    reset_optimizer : bool
    quiet : bool
        Silence floating-point warnings (diverging networks are being marked).
    """

    def __init__(self, networks, X, Y, *, batch_size, etas, regularizers, optimizer,
                 per_batch=False, separate=False, on_step=None, reset_optimizer=True,
                 quiet=False):
        self.networks, self.X, self.Y = list(networks), X, Y
        self.n, self.batch_size = len(X), int(batch_size)
        self.etas, self.regularizers = list(etas), list(regularizers)
        self.optimizer, self.per_batch, self.separate = optimizer, per_batch, separate
        self.on_step, self.reset_optimizer, self.quiet = on_step, reset_optimizer, quiet
        self.dtype = networks[0].weights[0].dtype


def validate(network, X, y, *, epochs, batch_size, evaluation_data):
    """``(X, labels, Y, evaluation)`` checked against ``network`` (its sizes and dtype)."""
    dtype = network.weights[0].dtype
    X = check_features(X, "X", network.sizes[0], dtype=dtype)
    labels, Y = check_targets(y, len(X), network.sizes[-1], dtype=dtype)
    config.check("epochs", epochs)
    config.check("batch_size", batch_size)
    return X, labels, Y, check_evaluation(evaluation_data, network)


def choose_kernel(backend, kernels, plan, what):
    """The prepared kernel for ``backend``; ``kernels`` maps "numpy" and "numba" to classes.

    'auto' takes numba when it can run the plan, else numpy. A backend that
    cannot run the plan raises ``ValueError`` with its one-line reason.
    """
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {backend!r}")
    for name in (("numba", "numpy") if backend == "auto" else (backend,)):
        reason = kernels[name].refusal(plan)
        if reason is None:
            return kernels[name].prepare(plan)
    if backend == "auto":
        raise ValueError(f"no backend can run this {what}: {reason}")
    raise ValueError(f"backend={backend!r} cannot run this {what}: {reason}")


def diverged_layer(network):
    """The first layer (from 1) with a NaN or inf weight or bias, or None."""
    for layer, (w, b) in enumerate(zip(network.weights, network.biases)):
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            return layer + 1
    return None


def drive(plan, *, backend, kernels, what, epochs, labels, evaluation, monitors, histories,
          rngs, first=0, state_etas=None, names=None, on_divergence="raise"):
    """Train ``plan.networks`` in place; return their histories.

    Parameters
    ----------
    plan : Plan
    backend : {"auto", "numpy", "numba"}
    kernels : dict
        The kernel class of each backend.
    what : str
        The run's name in refusals ("training", "sweep").
    epochs : int
    labels, evaluation
        The training labels and the validated evaluation data (or None).
    monitors : list
        Each network's monitors (a sequence, one Monitor or None).
    histories : list of History
    rngs : list of Generator
        One per mini-batch order (one, or one per network when ``plan.separate``).
    first : int
        The first epoch's number (0 records the initial state).
    state_etas : list of float, optional
        The eta each network's state reports (default: ``float(eta)``).
    names : list of str, optional
        Who diverged, per network, in the error ("training", "network k").
    on_divergence : {"raise", "mark"}
        Raise :class:`TrainingDivergedError`, or record ``diverged_epoch`` and
        keep training the others.
    """
    networks, n, m = plan.networks, plan.n, plan.batch_size
    state_etas = [float(e) for e in plan.etas] if state_etas is None else state_etas
    names = names or [f"network {k}" for k in range(len(networks))]
    lists = [monitor_list(with_evaluation_metrics(monitor_list(mons).monitors, evaluation))
             for mons in monitors]
    plan.per_batch = any(mons.per_batch for mons in lists)
    runs = []
    if plan.per_batch and len(networks) == 1:

        def on_step(batch, parts):
            state = runs[0].state
            state.batch, state.step = batch, parts
            runs[0].monitors.call_batch_end(state)

        plan.on_step = on_step
    # the kernel first: lockstep makes the networks view its stacked arrays
    kernel = choose_kernel(backend, kernels, plan, what)
    for k, net in enumerate(networks):
        state = TrainingState(net, eta=state_etas[k], regularizer=plan.regularizers[k],
                              batch_size=m, n=n, history=histories[k],
                              train_data=(plan.X, labels), evaluation_data=evaluation,
                              optimizer=plan.optimizer)
        state.last_epoch = max(first, 1) + int(epochs) - 1
        runs.append(Run(lists[k], state, histories[k]))
    alive = [True] * len(runs)

    def run_epoch(orders, epoch):
        kernel.run_epoch(orders, alive)
        for run in runs:
            run.state.step = None

    def ready():
        kernel.ready(runs[0].monitors)

    def check_finite(epoch):
        for k, (net, run) in enumerate(zip(networks, runs)):
            layer = diverged_layer(net) if run.alive else None
            if layer is None:
                continue
            if on_divergence == "raise":
                raise TrainingDivergedError(
                    f"{names[k]} diverged in epoch {epoch}: layer {layer}'s parameters became "
                    f"NaN or inf; try a smaller eta (got eta={plan.etas[k]})", run.history)
            run.alive = alive[k] = False
            record(run, epoch, {"diverged_epoch": epoch})

    train_loop(runs, first=first, epochs=epochs,
               permute=lambda: np.array([rng.permutation(n) for rng in rngs]),
               run_epoch=run_epoch, check_finite=check_finite, ready=ready)
    return histories
