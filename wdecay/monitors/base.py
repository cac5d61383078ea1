"""The callback API: ``Monitor`` hooks, the ``TrainingState`` they see, and the fan-out list.

The training loop is the only loop. It calls, in this order::

    on_train_begin(state)
    on_epoch_end(state)            # once with state.epoch == 0, before any update
    for each epoch 1, 2, ...:
        on_epoch_begin(state)
        on_batch_end(state)        # after every step, only if some monitor overrides it
        on_epoch_end(state)
    on_train_end(state)

A hook may return a dict of named numbers (``{"layer1/rms": 0.3}``); the values
returned during an epoch are merged into that epoch's record of the history.
"""

from __future__ import annotations

import numpy as np


class Monitor:
    """Base class of monitors: documented no-op hooks to override.

    Each hook receives the :class:`TrainingState` and may return a dict of
    named values for the current epoch's record, or ``None``. Set
    ``state.stop_training = True`` to stop after the current epoch.

    Examples
    --------
    >>> class MaxWeight(Monitor):
    ...     def on_epoch_end(self, state):
    ...         return {"max|w|": max(float(abs(w).max()) for w in state.weights)}
    """

    #: Set to False in a per-batch monitor that never reads ``state.weights_before``;
    #: if no per-batch monitor needs them, the loop skips copying the weights each step.
    #: The loop reads it after ``on_train_begin``; ``decay_update``,
    #: ``gradient_update`` and the gradients never need it.
    needs_weights_before = True

    def on_train_begin(self, state):
        """Called once before epoch 0 is recorded."""

    def on_epoch_begin(self, state):
        """Called before the first step of every epoch (not for epoch 0)."""

    def on_batch_end(self, state):
        """Called after every SGD step; the state then holds that step's parts.

        Returns None: accumulate per-step values and record them in ``on_epoch_end``.

        Overriding this hook switches the loop to its per-batch path, which
        computes ``state.grad_weights``, ``state.decay_update`` and
        ``state.gradient_update``; leave it alone when you do not need them.
        """

    def on_epoch_end(self, state):
        """Called after every epoch, and once before training with ``state.epoch == 0``."""

    def on_train_end(self, state):
        """Called once after the last epoch."""

    def state_dict(self):
        """What this monitor carries from one ``fit`` to the next, for a checkpoint.

        A dict of numbers, strings, lists and arrays; ``{}`` (the default) for a
        monitor that keeps nothing across epochs. A monitor whose ``on_train_begin``
        keeps its state when the history is not empty (a continued run) overrides
        this and :meth:`load_state_dict`, as torch.optim and Lightning callbacks do.
        """
        return {}

    def load_state_dict(self, state):
        """Put back a :meth:`state_dict` before a continued ``fit``.

        Raises
        ------
        ValueError
            If ``state`` is not empty for a monitor that keeps no state.
        """
        if state:
            raise ValueError(f"monitor {type(self).__name__} keeps no state, got a state with "
                             f"keys {sorted(state)}")

    def __repr__(self):
        return f"{type(self).__name__}()"


class LambdaMonitor(Monitor):
    """A monitor made of plain functions, one per hook, each ``f(state) -> dict | None``.

    Examples
    --------
    >>> m = LambdaMonitor(on_epoch_end=lambda s: {"w0": float(s.weights[0][0, 0])})
    """

    def __init__(self, on_train_begin=None, on_epoch_begin=None, on_batch_end=None,
                 on_epoch_end=None, on_train_end=None):
        hooks = dict(on_train_begin=on_train_begin, on_epoch_begin=on_epoch_begin,
                     on_batch_end=on_batch_end, on_epoch_end=on_epoch_end,
                     on_train_end=on_train_end)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class MonitorError(RuntimeError):
    """A monitor raised; the message names it and the epoch, ``history`` keeps the records."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


def read_only(array):
    """A read-only view of ``array`` that cannot be made writeable again.

    The view's memory comes through a read-only buffer, so neither
    ``view.flags.writeable = True`` nor writing through ``view.base`` works.

    Examples
    --------
    >>> w = np.zeros(2); v = read_only(w)
    >>> v.flags.writeable = True
    Traceback (most recent call last):
    ...
    ValueError: cannot set WRITEABLE flag to True of this array
    """
    array = np.asarray(array)
    if array.ndim == 0 or array.size == 0:
        view = array.view()
        view.flags.writeable = False
        return view
    view = np.asarray(memoryview(array).toreadonly())
    if view.dtype != array.dtype:  # formats the buffer protocol spells differently
        view = view.view(array.dtype)
    return view


class TrainingState:
    """What monitors see: the loop's settings, read-only parameters and the history.

    Attributes
    ----------
    epoch, batch : int
        Current epoch (0 before training) and step index within the epoch.
    last_epoch : int
        The epoch at which this call of ``fit`` will stop (unless stopped early).
    weights, biases : tuple of ndarray
        Read-only views of the network's parameters, updated in place by training.
    eta, lmbda, regularizer, optimizer, batch_size, n, steps_per_epoch
        The training settings; ``n`` is the training-set size.
    sizes, cost, activation
        The network's structure.
    train_data, evaluation_data : tuple (X, labels) or None
        The data (read-only).
    history : History
        Records so far.
    weights_before, grad_weights, grad_biases, decay_update, gradient_update
        In ``on_batch_end`` only: the weights before the step, the mini-batch
        mean gradients of the unregularized cost g, the decay part of the weight
        change and its gradient part (-eta g). ``None`` elsewhere. Computed
        only when read.
    record : dict
        The values recorded so far by earlier monitors in the current hook.
    stop_training : bool
        Set to True to stop after the current epoch.
    """

    def __init__(self, network, *, eta, regularizer, batch_size, n, history,
                 train_data, evaluation_data=None, optimizer=None):
        self._network = network
        self.sizes = list(network.sizes)
        self.cost = network.cost
        self.activation = network.activation
        self.weights = tuple(read_only(w) for w in network.weights)
        self.biases = tuple(read_only(b) for b in network.biases)
        self.eta = eta
        self.regularizer = regularizer
        self.lmbda = regularizer.lmbda
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.n = n
        self.steps_per_epoch = -(-n // batch_size)
        self.history = history
        self.train_data = tuple(read_only(a) for a in train_data)
        self.evaluation_data = (None if evaluation_data is None
                                else tuple(read_only(a) for a in evaluation_data))
        self.epoch = 0
        self.last_epoch = 0  # the epoch training will end at, set by the loop
        self.batch = 0
        self.stop_training = False
        self.record = {}
        self._forward_cache = {}
        self.step = None  # the current step's StepParts, in on_batch_end only

    @property
    def weights_before(self):
        """Weights before the current step (``on_batch_end`` only, else None)."""
        return None if self.step is None else self.step.weights_before

    @property
    def grad_weights(self):
        """Mini-batch mean gradients g of the unregularized cost (``on_batch_end`` only)."""
        return None if self.step is None else self.step.grad_weights

    @property
    def grad_biases(self):
        """Mini-batch mean bias gradients (``on_batch_end`` only)."""
        return None if self.step is None else self.step.grad_biases

    @property
    def decay_update(self):
        """The decay part of the weight change (``on_batch_end`` only)."""
        return None if self.step is None else self.step.decay_update

    @property
    def gradient_update(self):
        """The gradient part of the weight change, -eta g (``on_batch_end`` only)."""
        return None if self.step is None else self.step.gradient_update

    def feedforward(self, X):
        """The network's output for the rows of ``X``."""
        return self.forward(X)[1][-1]

    def backprop(self, X, Y):
        """Gradients of the summed cost over the rows of ``X`` at the current weights.

        ``(grad_weights, grad_biases)`` as :meth:`wdecay.Network.backprop` returns them
        (new arrays; the network is not changed).
        """
        return self._network.backprop(X, Y)

    def forward(self, X):
        """The network's weighted inputs and activations for ``X`` (see ``Network.forward``).

        Within one hook call the weights cannot change, so results are cached by
        the array's memory and shape: monitors that evaluate the same data share
        one forward pass.
        """
        X = np.asarray(X)
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        key = (X.__array_interface__["data"][0], X.shape, X.strides)
        if key not in self._forward_cache:
            # Keeping X alive with its result means no other array can take its
            # memory address, and so its key, while the cache lives.
            self._forward_cache[key] = (X, self._network.forward(X))
        return self._forward_cache[key][1]


class StepParts:
    """The parts of one training step, read-only views of the step's reused buffers.

    A step maps W -> W + d + u: ``decay_update`` d is the decay part (the
    change the regularizer's factor and shrink make, or for coupled decay the
    decay gradient's share of the optimizer's step) and ``gradient_update`` u
    the rest (-eta g for SGD). ``grad_weights`` and ``grad_biases`` are the
    mini-batch mean gradients g of the unregularized cost; ``weights_before``
    the weights before the step (None when no per-batch monitor asked for them).
    Derived arrays are computed on first access and valid until the next step.
    """

    def __init__(self, weights_before, grads, grad_scale, decay_update, gradient_update=None):
        self.weights_before = weights_before
        self._grads = grads            # (weights, biases) gradients times grad_scale
        self._grad_scale = grad_scale  # eta for SGD (its buffers hold eta g), else 1
        self.decay_update = decay_update
        self._gradient_update = gradient_update
        self._cache = {}
        self._norms = {}  # squared norms shared by the step's monitors (squared_norms)

    def renew(self, weights_before):
        """Start a new step: forget derived values (the buffers are reused)."""
        self.weights_before = weights_before
        if self._cache:
            self._cache = {}
        if self._norms:
            # not carried over as this step's ||W_before||^2: a callback may have edited the
            # weights since (tests/test_monitors.py::test_angles_follow_weights_edited_between_epochs)
            self._norms = {}

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = tuple(read_only(x) for x in make())
        return self._cache[key]

    def _unscaled(self, key, arrays):
        if self._grad_scale == 1.0:
            return arrays
        return self._cached(key, lambda: [g / self._grad_scale for g in arrays])

    @property
    def grad_weights(self):
        return self._unscaled("gw", self._grads[0])

    @property
    def grad_biases(self):
        return self._unscaled("gb", self._grads[1])

    @property
    def gradient_update(self):
        if self._gradient_update is not None:
            return self._gradient_update
        # SGD: its gradient buffers hold eta g, so u = -eta g is their negative
        return self._cached("g", lambda: [-g for g in self._grads[0]])

    def signed_gradient_update(self):
        """``(arrays, sign)`` with ``gradient_update == sign * arrays``, without a copy.

        For SGD the gradient buffers hold eta g, so u = -eta g is ``(buffers, -1.0)``;
        a per-step monitor takes its dot products on them (<x, u> = sign <x, arrays>
        exactly: negation does not round) instead of materializing u every step.
        """
        if self._gradient_update is not None:
            return self._gradient_update, 1.0
        return self._grads[0], -1.0


def signed_gradient_update(state):
    """``(arrays, sign)`` with ``state.gradient_update == sign * arrays`` (see StepParts)."""
    signed = getattr(state.step, "signed_gradient_update", None)
    return signed() if signed is not None else (state.gradient_update, 1.0)


def squared_norms(state, key, arrays):
    """``[||x||^2 for x in arrays]`` as floats, computed once per step under ``key``.

    In ``on_batch_end`` the per-batch monitors of a step share them (NormBudget
    and AngularUpdate both need ||W_{t+1}||^2 and ||u||^2): the first call
    computes, later calls with the same ``key`` in the same step reuse. ``key``
    must name what ``arrays`` are ("after" for ``state.weights``, "before" for
    ``state.weights_before``, "u" for the gradient update); without the loop's
    step parts nothing is kept. Nothing carries over to the next step (a callback
    may edit the weights between steps).
    """
    memo = getattr(state.step, "_norms", None)
    if memo is None or key not in memo:
        values = [float(np.vdot(x, x)) for x in arrays]
        if memo is None:
            return values
        memo[key] = values
    return memo[key]


def overrides_batch_end(monitor):
    """True if ``monitor`` does per-batch work."""
    if "on_batch_end" in vars(monitor):  # set on the instance, as LambdaMonitor does
        return True
    if isinstance(monitor, LambdaMonitor):
        return False
    return type(monitor).on_batch_end is not Monitor.on_batch_end


class MonitorList:
    """Calls every monitor's hook in order and merges the dicts they return."""

    def __init__(self, monitors):
        self.monitors = list(monitors)
        for m in self.monitors:
            if not isinstance(m, Monitor):
                raise TypeError(f"`monitors` must contain Monitor instances, got {m!r}; "
                                "wrap plain functions in LambdaMonitor")
        self.batch_monitors = [m for m in self.monitors if overrides_batch_end(m)]
        self.per_batch = bool(self.batch_monitors)

    def call_batch_end(self, state):
        """``on_batch_end`` of the per-batch monitors only, with the least overhead."""
        for m in self.batch_monitors:
            try:
                out = m.on_batch_end(state)
            except Exception as exc:
                raise MonitorError(
                    f"monitor {type(m).__name__} raised in on_batch_end at epoch {state.epoch}: "
                    f"{type(exc).__name__}: {exc}", state.history) from exc
            if out:
                raise TypeError(f"monitor {type(m).__name__}: on_batch_end must return None; "
                                "accumulate and return values from on_epoch_end")

    @property
    def needs_weights_before(self):
        """True if a per-batch monitor reads ``state.weights_before`` (asked after on_train_begin)."""
        return any(m.needs_weights_before for m in self.monitors if overrides_batch_end(m))

    def call(self, hook, state):
        """Call ``hook`` on every monitor; return the merged values.

        While they run, ``state.record`` holds the values merged so far, so a
        monitor can read what an earlier one recorded in the same epoch.
        """
        values = {}
        state.record = values
        state._forward_cache = {}
        for m in self.monitors:
            try:
                out = getattr(m, hook)(state)
            except Exception as exc:
                raise MonitorError(
                    f"monitor {type(m).__name__} raised in {hook} at epoch {state.epoch}: "
                    f"{type(exc).__name__}: {exc}", state.history) from exc
            if out is None:
                continue
            if not isinstance(out, dict):
                raise TypeError(f"monitor {type(m).__name__}: {hook} must return a dict or "
                                f"None, got {type(out).__name__}")
            if "epoch" in out:
                raise ValueError(f"monitor {type(m).__name__}: {hook} returned the key "
                                 "'epoch', which the loop writes; rename it")
            values.update(out)
        return values
