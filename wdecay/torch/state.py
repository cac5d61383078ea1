"""The training state the monitors see on a torch model: the engine-agnostic contract.

It offers what :class:`wdecay.monitors.TrainingState` offers that does not
need wdecay's own network: read-only numpy views of the parameters (one per
named tensor, in the order of ``names``), the history, the epoch and step
counters, and in ``on_batch_end`` the step's parts. A parameter tensor plays
the part of a layer: ``layer{l}/key`` from a monitor is recorded as
``{names[l-1]}/key``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..monitors.base import read_only


def to_numpy(tensor):
    """A read-only numpy view of ``tensor`` (a copy if it is not on the CPU or not float32/64)."""
    t = tensor.detach()
    if t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float32)
    if t.device.type != "cpu":
        t = t.cpu()
    return read_only(t.numpy())


class GroupDecay:
    """The decay of the optimizer's groups as a regularizer: what WeightNorms and Cost read.

    ``penalized`` = sum ||W||^2 over decayed tensors, ``penalty`` = sum wd/2 ||W||^2
    (wd each tensor's group ``weight_decay``; wdecay's lmbda / (2n) ||W||^2 with
    lmbda / n = wd).
    """

    has_shrink = False
    name = "torch weight_decay"

    def __init__(self, recorder):
        self._rec = recorder

    @property
    def lmbda(self):
        return math.nan

    def _wds(self):
        groups = self._rec.optimizer.param_groups
        return [float(groups[t.group].get("weight_decay", 0.0)) for t in self._rec.tensors]

    def penalized(self, weights):
        return sum(float(np.vdot(w, w)) for w, wd in zip(weights, self._wds()) if wd > 0)

    def penalty(self, weights, n=None):
        return sum(0.5 * wd * float(np.vdot(w, w)) for w, wd in zip(weights, self._wds()))

    def factor(self, eta, n):
        raise NotImplementedError("a torch run has no single decay factor: each group has its own")

    def gradient(self, w, n):
        raise NotImplementedError("a torch run's decay gradient is the optimizer's, per group")

    def __repr__(self):
        return "GroupDecay()"


class TorchStepParts:
    """One step's parts as read-only numpy views (computed on first read, valid for the step)."""

    def __init__(self, tensors):
        self._tensors = tensors
        self._cache = {}

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = tuple(make(t) for t in self._tensors)
        return self._cache[key]

    @staticmethod
    def _known(t, part):
        if t.rule.kind == "unknown":
            raise ValueError(f"{t.name}: {t.rule.describe()}")
        return to_numpy(part)

    @property
    def weights_before(self):
        return self._get("before", lambda t: to_numpy(t.before))

    @property
    def decay_update(self):
        return self._get("d", lambda t: self._known(t, t.d))

    @property
    def gradient_update(self):
        return self._get("u", lambda t: self._known(t, t.u))

    @property
    def grad_weights(self):
        return self._get("g", lambda t: to_numpy(t.param.grad) if t.param.grad is not None
                         else read_only(np.zeros(t.param.shape)))

    @property
    def grad_biases(self):
        return ()


class TorchState:
    """What monitors see on a torch model (see the module docstring).

    Attributes beyond :class:`wdecay.monitors.TrainingState`'s: ``names`` (the
    tensors' names), ``rules`` (each tensor's current decay rule),
    ``budget_producer`` (the recorder, which sums the norm budget in torch).
    ``sizes``, ``cost``, ``activation``, ``train_data``, ``evaluation_data`` and
    ``batch_size`` are None; ``forward`` and ``backprop`` raise.
    """

    sizes = cost = activation = train_data = evaluation_data = batch_size = None
    lmbda = math.nan

    def __init__(self, recorder, n=None):
        self._rec = recorder
        self.names = tuple(t.name for t in recorder.tensors)
        self.optimizer = recorder.optimizer
        self.regularizer = GroupDecay(recorder)
        self.n = n
        self.history = recorder.history
        self.epoch = self.batch = self.last_epoch = 0
        self.stop_training = False
        self.record = {}
        self._forward_cache = {}
        self.step = None
        self.budget_producer = recorder
        self.biases = tuple(read_only(np.zeros(0)) for _ in self.names)
        self._views = None

    @property
    def weights(self):
        """Read-only numpy views of the parameters (CPU: the parameters' own memory)."""
        if self._views is None or self._rec.copies_weights:
            views = tuple(to_numpy(t.param) for t in self._rec.tensors)
            if self._rec.copies_weights:
                return views
            self._views = views
        return self._views

    @property
    def eta(self):
        """The first group's lr (each tensor's own is in ``rules``)."""
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def rules(self):
        return tuple(self._rec.current_rules())

    @property
    def steps_per_epoch(self):
        return self._rec.steps_per_epoch

    def _part(self, name):
        return None if self.step is None else getattr(self.step, name)

    weights_before = property(lambda self: self._part("weights_before"))
    grad_weights = property(lambda self: self._part("grad_weights"))
    grad_biases = property(lambda self: self._part("grad_biases"))
    decay_update = property(lambda self: self._part("decay_update"))
    gradient_update = property(lambda self: self._part("gradient_update"))

    def forward(self, X):
        raise NotImplementedError("state.forward is not available on a torch model: evaluate "
                                  "the model yourself and pass the values to rec.epoch_end()")

    feedforward = backprop = forward
