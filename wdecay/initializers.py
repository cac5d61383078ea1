"""Weight initializers; each draws from an explicit ``numpy.random.Generator``.

Draw order follows ``network2.py``: first every layer's biases, then every
layer's weights. Weights of layer l have shape (sizes[l+1], sizes[l]).
"""

from __future__ import annotations

import numpy as np

from .registry import Registry, Stateless, resolve

#: The initializers by name: every subclass of :class:`Initializer` that declares a ``name``.
INITIALIZERS = Registry("initializer")


class Initializer(Stateless):
    """Base class: ``init(sizes, rng) -> (weights, biases)``; see subclasses."""

    name = "initializer"
    #: ``{setting: (constraint, default)}``: the settings the registry makes it from
    #: (:mod:`wdecay.registry`; the shipped ones take none).
    hyperparameters = {}

    def __init_subclass__(cls, register=True, **kwargs):
        """Register a subclass that declares ``name`` (``class X(Base, register=False)``: do not)."""
        super().__init_subclass__(**kwargs)
        if register and "name" in cls.__dict__:
            INITIALIZERS.add(cls)

    def weight_scale(self, n_in):
        """Standard deviation of the weights of a layer with ``n_in`` inputs."""
        raise NotImplementedError

    def init(self, sizes, rng):
        """Return lists of weights (out, in) and biases (out,) drawn from ``rng``."""
        biases = [rng.standard_normal(n_out) for n_out in sizes[1:]]
        weights = [
            rng.standard_normal((n_out, n_in)) * self.weight_scale(n_in)
            for n_in, n_out in zip(sizes[:-1], sizes[1:])
        ]
        return weights, biases



class DefaultWeightInitializer(Initializer):
    """Weights N(0, 1/n_in), biases N(0, 1): ``network2``'s default.

    Examples
    --------
    >>> w, b = DefaultWeightInitializer().init([100, 3], np.random.default_rng(0))
    >>> w[0].shape, b[0].shape
    ((3, 100), (3,))
    """

    name = "default"

    def weight_scale(self, n_in):
        return 1.0 / np.sqrt(n_in)


class LargeWeightInitializer(Initializer):
    """Weights and biases N(0, 1): ``network2``'s ``large_weight_initializer``.

    Examples
    --------
    >>> LargeWeightInitializer().weight_scale(784)
    1.0
    """

    name = "large"

    def weight_scale(self, n_in):
        return 1.0




def get_initializer(initializer):
    """Return an :class:`Initializer` from an instance, a class or a name.

    Examples
    --------
    >>> get_initializer("large")
    LargeWeightInitializer()
    """
    return resolve(initializer, Initializer, INITIALIZERS, "initializer")
