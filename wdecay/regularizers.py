"""Weight penalties in Nielsen's convention, applied to weights only, never biases.

``n`` is always the size of the training set, as in Nielsen's book:

- L2: penalty (lmbda / 2n) sum w^2; each step scales w by (1 - eta lmbda / n).
- L1: penalty (lmbda / n) sum |w|; each step subtracts eta (lmbda / n) sign(w).

Conversions (L2, m the mini-batch size): PyTorch's SGD ``weight_decay`` equals
``lmbda / n``; scikit-learn's ``MLPClassifier(alpha=...)`` adds
(alpha / 2 m) ||w||^2 per batch of m, so ``alpha = lmbda * m / n`` with SGD and
``alpha = lmbda`` with L-BFGS (whole data set, m = n); for
``LogisticRegression``, ``C = 1 / lmbda``.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_scalar, lookup


class Regularizer:
    """Base class: ``penalty``, ``gradient`` and the in-place ``decay``."""

    name = "regularizer"

    def __init__(self, lmbda=0.0):
        self.lmbda = float(check_scalar(lmbda, "lmbda", low=0))

    def penalty(self, weights, n):
        """The penalty added to the mean cost, for a list of weight arrays."""
        raise NotImplementedError

    def gradient(self, w, n):
        """d(penalty)/dw for one weight array."""
        raise NotImplementedError

    def decay_step(self, w, eta, n):
        """The change that one SGD step's decay makes to ``w`` (a new array)."""
        raise NotImplementedError

    def decay(self, w, eta, n):
        """Apply one SGD step's decay to ``w`` in place."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(lmbda={self.lmbda!r})"

    def __eq__(self, other):
        return type(self) is type(other) and self.lmbda == other.lmbda

    def __hash__(self):
        return hash((type(self), self.lmbda))


class NoRegularizer(Regularizer):
    """No penalty: the decay step leaves the weights alone.

    Examples
    --------
    >>> NoRegularizer().penalty([np.ones((2, 2))], n=10)
    0.0
    """

    name = "none"

    def __init__(self, lmbda=0.0):
        super().__init__(lmbda)
        self.lmbda = 0.0

    def penalty(self, weights, n):
        return 0.0

    def gradient(self, w, n):
        return np.zeros_like(w)

    def decay_step(self, w, eta, n):
        return np.zeros_like(w)

    def decay(self, w, eta, n):
        return None

    def __repr__(self):
        return "NoRegularizer()"


class L2(Regularizer):
    """L2 weight decay: penalty (lmbda / 2n) sum_w w^2, step w <- (1 - eta lmbda / n) w.

    Examples
    --------
    >>> L2(5.0).penalty([np.ones((2, 2))], n=10)
    1.0
    """

    name = "l2"

    def penalty(self, weights, n):
        return 0.5 * self.lmbda / n * float(sum(np.vdot(w, w) for w in weights))

    def gradient(self, w, n):
        return (self.lmbda / n) * w

    def decay_step(self, w, eta, n):
        return -(eta * self.lmbda / n) * w

    def decay(self, w, eta, n):
        w *= 1.0 - eta * self.lmbda / n


class L1(Regularizer):
    """L1 weight decay: penalty (lmbda / n) sum_w |w|, step w <- w - eta (lmbda / n) sign(w).

    Examples
    --------
    >>> L1(5.0).penalty([-np.ones((2, 2))], n=10)
    2.0
    """

    name = "l1"

    def penalty(self, weights, n):
        return self.lmbda / n * float(sum(np.abs(w).sum() for w in weights))

    def gradient(self, w, n):
        return (self.lmbda / n) * np.sign(w)

    def decay_step(self, w, eta, n):
        return -(eta * self.lmbda / n) * np.sign(w)

    def decay(self, w, eta, n):
        w -= (eta * self.lmbda / n) * np.sign(w)


REGULARIZERS = {cls.name: cls for cls in (L2, L1, NoRegularizer)}


def get_regularizer(regularizer, lmbda=None):
    """Return a :class:`Regularizer` from an instance, ``None`` or a name.

    Examples
    --------
    >>> get_regularizer("l2", 5.0)
    L2(lmbda=5.0)
    >>> get_regularizer(None)
    NoRegularizer()
    """
    if isinstance(regularizer, Regularizer):
        return regularizer
    if regularizer is None:
        return NoRegularizer()
    cls = lookup(REGULARIZERS, regularizer, "regularizer")
    return cls() if lmbda is None else cls(lmbda)
