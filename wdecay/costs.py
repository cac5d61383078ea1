"""Cost functions: each pairs its value ``fn`` with its output error ``delta``.

A cost also owns the output layer's activation, because the pair decides the
output error: sigmoid outputs for the quadratic and cross-entropy costs (as in
Nielsen's ``network2.py``), softmax outputs for the log-likelihood cost.

All functions work on batches: ``z``, ``a`` and ``y`` have shape (n_samples, k),
``fn`` returns the per-example costs (n_samples,) and ``delta`` returns
dC_x/dz for every example, shape (n_samples, k).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp, softmax

from .registry import Registry, Stateless, resolve

#: The costs by name: every subclass of :class:`Cost` that declares a ``name``.
COSTS = Registry("cost")


class Cost(Stateless):
    """Base class of costs; see the module docstring for the shapes."""

    name = "cost"
    #: ``{setting: (constraint, default)}``: the settings the registry makes it from
    #: (:mod:`wdecay.registry`; the shipped ones take none).
    hyperparameters = {}
    #: The compiled epoch's branch for this cost (:mod:`wdecay.numba_backend`): 0 sigmoid
    #: outputs with delta = a - y, 1 sigmoid outputs with delta = (a - y) a (1 - a), 2 softmax
    #: outputs with delta = a - y; None (the default): the compiled epoch refuses the cost.
    #: Read from the class's own body only, so a subclass that changes ``delta`` but not
    #: ``kernel_id`` is refused rather than run as its parent.
    kernel_id = None

    def __init_subclass__(cls, register=True, **kwargs):
        """Register a subclass that declares ``name`` (``class X(Base, register=False)``: do not)."""
        super().__init_subclass__(**kwargs)
        if register and "name" in cls.__dict__:
            COSTS.add(cls)

    def output(self, z, out=None):
        """The output layer's activation a = f(z)."""
        raise NotImplementedError

    def fn(self, z, a, y):
        """Per-example cost C_x, shape (n_samples,)."""
        raise NotImplementedError

    def delta(self, z, a, y, out=None):
        """Output error dC_x/dz, shape (n_samples, k)."""
        raise NotImplementedError



class QuadraticCost(Cost):
    """Quadratic cost with sigmoid outputs.

    C_x = 1/2 ||a - y||^2,  delta = (a - y) * sigma'(z) = (a - y) a (1 - a).

    Examples
    --------
    >>> z = np.zeros((1, 2)); a = QuadraticCost().output(z)
    >>> QuadraticCost().fn(z, a, np.array([[1.0, 0.0]]))
    array([0.25])
    """

    name = "quadratic"
    kernel_id = 1

    def output(self, z, out=None):
        return expit(z, out=out) if out is not None else expit(z)

    def fn(self, z, a, y):
        return 0.5 * np.sum((a - y) ** 2, axis=-1)

    def delta(self, z, a, y, out=None):
        out = np.subtract(a, y, out=out)
        out *= a
        out *= 1.0 - a
        return out


class CrossEntropyCost(Cost):
    """Cross-entropy cost with sigmoid outputs, as in ``network2.py``.

    C_x = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)],  delta = a - y.

    The value is computed from z as sum_j [ln(1 + e^{z_j}) - y_j z_j], which is the
    same quantity but cannot produce NaN or inf for finite z, even when a sigmoid
    output rounds to exactly 0 or 1.

    Examples
    --------
    >>> z = np.array([[0.0]]); c = CrossEntropyCost()
    >>> float(c.fn(z, c.output(z), np.array([[1.0]]))[0]) == float(np.log(2))
    True
    """

    name = "cross-entropy"
    kernel_id = 0

    def output(self, z, out=None):
        return expit(z, out=out) if out is not None else expit(z)

    def fn(self, z, a, y):
        return np.sum(np.logaddexp(0.0, z) - y * z, axis=-1)

    def delta(self, z, a, y, out=None):
        return np.subtract(a, y, out=out)


class LogLikelihoodCost(Cost):
    """Log-likelihood cost with a softmax output layer.

    a_j = e^{z_j} / sum_i e^{z_i},  C_x = -sum_j y_j ln a_j,  delta = a - y.

    Examples
    --------
    >>> z = np.zeros((1, 4)); c = LogLikelihoodCost()
    >>> c.output(z)
    array([[0.25, 0.25, 0.25, 0.25]])
    """

    name = "log-likelihood"
    kernel_id = 2

    def output(self, z, out=None):
        a = softmax(z, axis=-1)
        if out is None:
            return a
        out[...] = a
        return out

    def fn(self, z, a, y):
        log_a = z - logsumexp(z, axis=-1, keepdims=True)
        return -np.sum(y * log_a, axis=-1)

    def delta(self, z, a, y, out=None):
        return np.subtract(a, y, out=out)




def get_cost(cost):
    """Return a :class:`Cost` from an instance, a class or a name.

    Examples
    --------
    >>> get_cost("cross-entropy")
    CrossEntropyCost()
    """
    by_class_name = {cls.__name__.lower(): cls for cls in COSTS.values()}
    return resolve(cost, Cost, COSTS, "cost", aliases=by_class_name)
