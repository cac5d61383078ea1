"""A tiny per-example implementation of network2.py's semantics, for the compat tests.

Written from the semantics the compat module documents: global numpy RNG for the
initial weights, Python's random.shuffle on a private copy of the training list,
one example at a time, the book's total_cost.
"""

import random

import numpy as np


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


class Ref:
    def __init__(self, sizes, quadratic=False):
        self.sizes, self.quadratic = sizes, quadratic
        self.init(scaled=True)

    def init(self, scaled):
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) / (np.sqrt(x) if scaled else 1.0)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def ff(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sig(w @ a + b)
        return a

    def fn(self, a, y):
        if self.quadratic:
            return 0.5 * np.linalg.norm(a - y) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    def backprop(self, x, y):
        acts, zs, a = [x], [], x
        for b, w in zip(self.biases, self.weights):
            z = w @ a + b
            zs.append(z)
            a = sig(z)
            acts.append(a)
        delta = acts[-1] - y
        if self.quadratic:
            delta = delta * sig(zs[-1]) * (1 - sig(zs[-1]))
        nb, nw = [None] * len(self.weights), [None] * len(self.weights)
        nb[-1], nw[-1] = delta, delta @ acts[-2].T
        for l in range(2, len(self.sizes)):
            sp = sig(zs[-l]) * (1 - sig(zs[-l]))
            delta = (self.weights[-l + 1].T @ delta) * sp
            nb[-l], nw[-l] = delta, delta @ acts[-l - 1].T
        return nb, nw

    def accuracy(self, data, convert=False):
        return sum(int(np.argmax(self.ff(x)) == (np.argmax(y) if convert else y)) for x, y in data)

    def total_cost(self, data, lmbda, convert=False):
        cost = 0.0
        for x, y in data:
            if convert:
                y = np.eye(10)[:, [y]]
            cost += self.fn(self.ff(x), y) / len(data)
        return cost + 0.5 * (lmbda / len(data)) * sum(np.linalg.norm(w) ** 2 for w in self.weights)

    def SGD(self, training_data, epochs, m, eta, lmbda, evaluation_data, early_stopping_n=0,
            monitor=("ec", "ea", "tc", "ta")):
        training_data = list(training_data)
        n = len(training_data)
        ec, ea, tc, ta = [], [], [], []
        best, no_change = 0, 0
        for _ in range(epochs):
            random.shuffle(training_data)
            for k in range(0, n, m):
                batch = training_data[k:k + m]
                nb = [np.zeros(b.shape) for b in self.biases]
                nw = [np.zeros(w.shape) for w in self.weights]
                for x, y in batch:
                    db, dw = self.backprop(x, y)
                    nb = [a + d for a, d in zip(nb, db)]
                    nw = [a + d for a, d in zip(nw, dw)]
                self.weights = [(1 - eta * (lmbda / n)) * w - (eta / len(batch)) * g
                                for w, g in zip(self.weights, nw)]
                self.biases = [b - (eta / len(batch)) * g for b, g in zip(self.biases, nb)]
            if "tc" in monitor:
                tc.append(self.total_cost(training_data, lmbda))
            if "ta" in monitor:
                ta.append(self.accuracy(training_data, convert=True))
            if "ec" in monitor:
                ec.append(self.total_cost(evaluation_data, lmbda, convert=True))
            if "ea" in monitor:
                ea.append(self.accuracy(evaluation_data))
            if early_stopping_n > 0:
                if ea[-1] > best:
                    best, no_change = ea[-1], 0
                else:
                    no_change += 1
                if no_change == early_stopping_n:
                    break
        return ec, ea, tc, ta
