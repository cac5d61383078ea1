"""Classes defined outside the package, shared by the tests that extend wdecay."""

import numpy as np

from wdecay import Regularizer
from wdecay import transforms as T


class ElasticNet(Regularizer):
    """penalty (l1 / n) sum |w| + (l2 / 2n) sum w^2: L2's factor, then L1's shrink; no lmbda.

    It declares no ``name``, so it is not registered; a test that needs it by
    name subclasses it with a ``name`` and ``hyperparameters``.
    """

    def __init__(self, l1, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def penalty(self, weights, n):
        return sum(self.l1 / n * float(np.abs(w).sum()) + 0.5 * self.l2 / n * float(np.vdot(w, w))
                   for w in weights)

    def gradient(self, w, n):
        return self.l1 / n * np.sign(w) + self.l2 / n * w

    def factor(self, eta, n):
        return self.check_factor(1.0 - eta * self.l2 / n, eta, n)

    def shrink(self, w, eta, n):
        w -= eta * self.l1 / n * np.sign(w)


class RMSprop(T.Preconditioner):
    """RMSprop: v <- rho v + (1 - rho) g^2, u = g / (sqrt(v) + eps)."""

    def __init__(self, rho=0.9, eps=1e-8):
        self.rho, self.eps = rho, eps

    def init(self, params):
        return {"v": [np.zeros_like(p) for p in params]}

    def denominator(self, i, g, state):
        v = state["v"][i]
        v *= self.rho
        v += (1 - self.rho) * g * g
        return np.sqrt(v) + self.eps
