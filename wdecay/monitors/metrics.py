"""Accuracy and cost on the training or evaluation data, computed in vectorized chunks."""

from __future__ import annotations

import numpy as np

from ..evaluation import chunked_sum
from .base import Monitor

_PREFIX = {"training": "train", "evaluation": "eval"}


def _data(state, on):
    data = state.train_data if on == "training" else state.evaluation_data
    if data is None:
        raise ValueError(f"no {on} data: pass evaluation_data to fit to monitor it")
    return data


def _check_on(on):
    if on not in _PREFIX:
        raise ValueError(f"`on` must be 'training' or 'evaluation', got {on!r}")
    return on


class Accuracy(Monitor):
    """Fraction of correctly classified rows, recorded as ``train/accuracy`` or ``eval/accuracy``.

    Examples
    --------
    >>> Accuracy("evaluation").key
    'eval/accuracy'
    """

    def __init__(self, on="evaluation"):
        self.on = _check_on(on)
        self.key = f"{_PREFIX[on]}/accuracy"

    def on_epoch_end(self, state):
        X, labels = _data(state, self.on)

        def count(rows, labels):
            return int(np.count_nonzero(np.argmax(state.forward(rows)[1][-1], axis=1) == labels))

        correct = chunked_sum(count, X, labels)
        return {self.key: correct / len(X)}

    def __repr__(self):
        return f"Accuracy({self.on!r})"


class Cost(Monitor):
    """Mean cost plus the penalty (with n the training-set size), as ``train/cost`` or ``eval/cost``.

    Targets are the one-hot vectors of the labels.

    Examples
    --------
    >>> Cost("training").key
    'train/cost'
    """

    def __init__(self, on="evaluation"):
        self.on = _check_on(on)
        self.key = f"{_PREFIX[on]}/cost"

    def on_epoch_end(self, state):
        X, labels = _data(state, self.on)

        def cost(rows, labels):
            zs, acts = state.forward(rows)
            y = np.zeros_like(acts[-1])
            y[np.arange(len(y)), labels] = 1.0
            return float(np.sum(state.cost.fn(zs[-1], acts[-1], y)))

        total = chunked_sum(cost, X, labels)
        penalty = state.regularizer.penalty(state.weights, state.n)
        return {self.key: total / len(X) + penalty}

    def __repr__(self):
        return f"Cost({self.on!r})"


def with_evaluation_metrics(monitors, evaluation):
    """``monitors`` with ``Accuracy("evaluation")`` and ``Cost("evaluation")`` first, given data.

    What ``fit`` and ``train_many`` record by default with ``evaluation_data``;
    a list that already has either keeps its own. ``monitors`` is a list.
    """
    monitors = list(monitors)
    if evaluation is not None:
        if not any(isinstance(mo, Accuracy) and mo.on == "evaluation" for mo in monitors):
            monitors.insert(0, Accuracy("evaluation"))
        if not any(isinstance(mo, Cost) and mo.on == "evaluation" for mo in monitors):
            monitors.insert(1, Cost("evaluation"))
    return monitors
