"""Accuracy and cost on the training or evaluation data, computed in vectorized chunks."""

from __future__ import annotations

import numpy as np

from ..network import EVAL_CHUNK as CHUNK
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
        correct = 0
        for i in range(0, len(X), CHUNK):
            out = state.forward(X[i:i + CHUNK])[1][-1]
            correct += int(np.count_nonzero(np.argmax(out, axis=1) == labels[i:i + CHUNK]))
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
        total = 0.0
        for i in range(0, len(X), CHUNK):
            zs, acts = state.forward(X[i:i + CHUNK])
            y = np.zeros_like(acts[-1])
            y[np.arange(len(y)), labels[i:i + CHUNK]] = 1.0
            total += float(np.sum(state.cost.fn(zs[-1], acts[-1], y)))
        penalty = state.regularizer.penalty(state.weights, state.n)
        return {self.key: total / len(X) + penalty}

    def __repr__(self):
        return f"Cost({self.on!r})"
