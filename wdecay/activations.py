"""Hidden-layer activation functions, each with its derivative.

Every activation can express its derivative through its own output ``a = f(z)``,
which lets backpropagation reuse the forward pass instead of keeping ``z``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .registry import Stateless, resolve


class Activation(Stateless):
    """Base class: ``fn(z)``, ``prime(z)`` and ``multiply_prime(delta, a)``."""

    name = "activation"

    def fn(self, z, out=None):
        raise NotImplementedError

    def prime(self, z):
        """Derivative f'(z), elementwise."""
        raise NotImplementedError

    def multiply_prime(self, delta, a):
        """In place: ``delta *= f'(z)``, using the output ``a = f(z)``."""
        raise NotImplementedError



class Sigmoid(Activation):
    """Logistic sigmoid, sigma(z) = 1 / (1 + exp(-z)); sigma' = sigma (1 - sigma).

    Examples
    --------
    >>> Sigmoid().fn(np.array([0.0]))
    array([0.5])
    """

    name = "sigmoid"

    def fn(self, z, out=None):
        return expit(z, out=out) if out is not None else expit(z)

    def prime(self, z):
        s = expit(z)
        return s * (1.0 - s)

    def multiply_prime(self, delta, a):
        delta *= a
        delta *= 1.0 - a


class Tanh(Activation):
    """Hyperbolic tangent; tanh' = 1 - tanh^2.

    Examples
    --------
    >>> Tanh().prime(np.array([0.0]))
    array([1.])
    """

    name = "tanh"

    def fn(self, z, out=None):
        return np.tanh(z, out=out) if out is not None else np.tanh(z)

    def prime(self, z):
        return 1.0 - np.tanh(z) ** 2

    def multiply_prime(self, delta, a):
        delta *= 1.0 - a * a


class ReLU(Activation):
    """Rectified linear unit, max(0, z); its derivative is 1 where z > 0, else 0.

    Examples
    --------
    >>> ReLU().fn(np.array([-1.0, 2.0]))
    array([0., 2.])
    """

    name = "relu"

    def fn(self, z, out=None):
        return np.maximum(z, 0.0, out=out) if out is not None else np.maximum(z, 0.0)

    def prime(self, z):
        return (z > 0).astype(float)

    def multiply_prime(self, delta, a):
        delta *= a > 0


ACTIVATIONS = {cls.name: cls for cls in (Sigmoid, Tanh, ReLU)}


def get_activation(activation):
    """Return an :class:`Activation` from an instance, a class or a name.

    Examples
    --------
    >>> get_activation("tanh")
    Tanh()
    """
    return resolve(activation, Activation, ACTIVATIONS, "activation")
