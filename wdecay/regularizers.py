"""Weight penalties in Nielsen's convention, applied to weights only, never biases.

``n`` is always the size of the training set, as in Nielsen's book:

- L2: penalty (lmbda / 2n) sum w^2; each step scales w by a = 1 - eta lmbda / n.
- L1: penalty (lmbda / n) sum |w|; each step subtracts eta (lmbda / n) sign(w).

Every regularizer gives its decay through one contract, which the training
step, the optimizers, the lockstep sweep, the monitors and the convex solvers
all use; a name only picks a regularizer (get_regularizer, the CLI, sweep settings).
A subclass that declares ``name`` joins :data:`REGULARIZERS`, with the settings
it declares in ``hyperparameters`` (see :mod:`wdecay.registry`): the command
line, the sweep grid and ``wdecay experiment`` then take it by name. The
contract:

- ``penalty(weights, n)`` and ``gradient(w, n)``, the penalty and d penalty / dw;
- ``factor(eta, n)``, the multiplicative part a of one step's decay, w <- a w
  (1 for no penalty and for L1); it refuses a <= 0 and warns below 0.5 (L1's
  warns when its shrink eta lmbda / n exceeds 0.5); it is called once per
  training call, so these checks cost nothing per step;
- ``shrink(w, eta, n)``, the in-place non-multiplicative part applied after the
  factor (L1's step; nothing by default), and ``has_shrink``, True when a class
  overrides it: layers without a shrink get the fused one-gemm update;
- ``decay(w, eta, n)`` = ``w *= factor; shrink(w)`` and ``decay_step``, the change
  that makes, as a new array.

Conversions (L2, m the mini-batch size): PyTorch's SGD ``weight_decay`` equals
``lmbda / n``; scikit-learn's ``MLPClassifier(alpha=...)`` adds
(alpha / 2 m) ||w||^2 per batch of m, so ``alpha = lmbda * m / n`` with SGD and
``alpha = lmbda`` with L-BFGS (whole data set, m = n); for
``LogisticRegression``, ``C = 1 / lmbda``. Momentum and Adam: see
``docs/optimizers.rst``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ._validation import lookup
from .registry import Registry, check_declared, real

#: The regularizers by name: every subclass of :class:`Regularizer` that declares a ``name``.
REGULARIZERS = Registry("regularizer")

#: A per-step decay factor below this draws a warning: half the weight gone every step.
SMALL_FACTOR = 0.5
#: A per-step shrink c = eta lmbda / n above this draws a warning: more than half of a
#: weight of size 1, the largest standard deviation the default initializer draws
#: (1 / sqrt(n_in)). The same bound as L2's: both warn when eta lmbda / n > 0.5.
LARGE_SHRINK = 1.0 - SMALL_FACTOR


def check_n(n):
    """Return ``n``, the training-set size of the penalty, if it is a number > 0."""
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or not n > 0:
        raise ValueError(f"`n` (the training-set size the penalty divides by) must be a "
                         f"number > 0, got {n!r}; pass len(X_train)")
    return n

_NEED_LMBDA = ("{cls}() needs the penalty strength lmbda, e.g. wdecay.{cls}(5.0) "
               "(lmbda = 0 means no decay: use wdecay.NoRegularizer())")


class Regularizer:
    """Base class of weight penalties: override ``penalty``, ``gradient`` and the decay parts.

    A subclass gives ``penalty`` and ``gradient``; its decay step is then
    ``w <- factor(eta, n) w`` followed by ``shrink(w, eta, n)``. The defaults are
    a factor of 1 and no shrink, so a new regularizer overrides the part(s) its
    step needs and inherits everything else. A subclass that declares ``name``
    (and its settings in ``hyperparameters``, ``{setting: (constraint,
    default)}``, stored as attributes of the same names) is registered in
    :data:`REGULARIZERS`. ``lmbda`` is None for a regularizer that declares no
    single strength (an elastic net's ``l1`` and ``l2``).

    Examples
    --------
    An elastic net as one small class (L2 factor, L1 shrink), with two
    strengths and no lmbda; ``name = "elastic"`` and ``hyperparameters =
    {"l1": (real(0), None), "l2": (real(0), None)}`` would register it:

    >>> class ElasticNet(Regularizer):
    ...     def __init__(self, l1, l2):
    ...         self.l1, self.l2 = l1, l2
    ...     def penalty(self, weights, n):
    ...         return sum(self.l1 / n * np.abs(w).sum() + 0.5 * self.l2 / n * np.vdot(w, w)
    ...                    for w in weights)
    ...     def gradient(self, w, n):
    ...         return self.l1 / n * np.sign(w) + self.l2 / n * w
    ...     def factor(self, eta, n):
    ...         return self.check_factor(1.0 - eta * self.l2 / n, eta, n)
    ...     def shrink(self, w, eta, n):
    ...         w -= eta * self.l1 / n * np.sign(w)
    >>> w = np.array([1.0, -2.0])
    >>> ElasticNet(1.0, 2.0).decay(w, eta=0.5, n=10); w
    array([ 0.85, -1.75])
    >>> ElasticNet(1.0, 2.0).has_shrink, ElasticNet(1.0, 2.0).lmbda
    (True, None)
    """

    #: The registry name (subclasses that declare one are registered); None: unregistered.
    name = None
    #: ``{setting: (constraint, default)}``: the settings the registry makes it from.
    hyperparameters = {}
    #: The constraint of ``lmbda`` (:func:`wdecay.registry.check_declared`), which L2 and L1
    #: declare in their ``hyperparameters``.
    constraints = {"lmbda": real(0)}
    #: The single penalty strength, or None for a regularizer that has none.
    lmbda = None
    #: The penalty's shape for :mod:`wdecay.convex`'s exact solvers: "l2", "l1" or None.
    convex = None

    def __init_subclass__(cls, register=True, **kwargs):
        """Register a subclass that declares ``name`` (``class X(Base, register=False)``: do not)."""
        super().__init_subclass__(**kwargs)
        if register and "name" in cls.__dict__ and cls.name is not None:
            REGULARIZERS.add(cls)

    def __init__(self, lmbda=None):
        if lmbda is not None:
            self.lmbda = float(check_declared(self, lmbda=lmbda)["lmbda"])

    def settings(self):
        """``{setting: value}`` of the declared hyperparameters (``{"lmbda": 5.0}`` for L2)."""
        return {k: getattr(self, k) for k in type(self).hyperparameters}

    def _settings_text(self):
        own = self.settings() or ({"lmbda": self.lmbda} if self.lmbda is not None else {})
        return ", ".join(f"{k}={v!r}" for k, v in own.items())

    def penalty(self, weights, n):
        """The penalty added to the mean cost, for a list of weight arrays."""
        raise NotImplementedError

    def gradient(self, w, n):
        """d(penalty)/dw for one weight array."""
        raise NotImplementedError

    def penalized(self, weights):
        """The weight measure the penalty grows with (``total/penalized`` of WeightNorms).

        sum w^2 for L2, sum |w| for L1, 0 without penalty; by default the
        penalty per unit of lmbda / n, penalty(weights, n=1) / lmbda, and for a
        regularizer without a single lmbda the penalty at n = 1.
        """
        if self.lmbda is None:
            return float(self.penalty(weights, 1))
        return self.penalty(weights, 1) / self.lmbda if self.lmbda else 0.0

    # -- the decay step ----------------------------------------------------------
    def factor(self, eta, n):
        """The multiplicative part a of one step's decay, w <- a w (1.0 by default)."""
        return 1.0

    def shrink(self, w, eta, n):
        """The in-place non-multiplicative part of one step's decay, after the factor."""

    @property
    def has_shrink(self):
        """True when this class overrides :meth:`shrink` (no fused one-gemm update then)."""
        return type(self).shrink is not Regularizer.shrink

    def check_factor(self, a, eta, n):
        """Return the decay factor ``a``; refuse a <= 0 and warn when a < 0.5."""
        if not a > 0:
            raise ValueError(
                f"the decay factor 1 - eta*lmbda/n must be > 0, got {a!r} "
                f"(eta={eta!r}, {self._settings_text()}, n={n!r}): every step would flip or "
                "zero the weights; use a smaller eta or lmbda")
        if a < SMALL_FACTOR:
            warnings.warn(
                f"the decay factor 1 - eta*lmbda/n = {a:.3g} (eta={eta!r}, {self._settings_text()}, "
                f"n={n!r}) removes more than half of every weight each step", UserWarning,
                stacklevel=3)
        return a

    def check_shrink(self, c, eta, n):
        """Return the per-step shrink ``c``; warn when c > 0.5 (see ``LARGE_SHRINK``)."""
        if c > LARGE_SHRINK:
            warnings.warn(
                f"the per-step shrink eta*lmbda/n = {c:.3g} (eta={eta!r}, {self._settings_text()}, "
                f"n={n!r}) moves every weight by more than {LARGE_SHRINK} each step, over half of "
                "a weight of size 1 (default initial weights have standard deviation "
                "1/sqrt(n_in) <= 1); use a smaller eta or lmbda", UserWarning, stacklevel=3)
        return c

    def decay(self, w, eta, n, factor=None):
        """Apply one step's decay to ``w`` in place: ``w *= factor(eta, n)``, then ``shrink``.

        ``factor``: that a, when the caller has computed (and so checked) it
        once for the whole training, as :class:`StackedDecay` does.
        """
        a = self.factor(eta, n) if factor is None else factor
        if a != 1.0:
            w *= a
        self.shrink(w, eta, n)

    def decay_step(self, w, eta, n):
        """The change that one step's decay makes to ``w``, as a new array."""
        new = np.array(w, copy=True)
        self.decay(new, eta, n)
        new -= w
        return new

    def __repr__(self):
        return f"{type(self).__name__}({self._settings_text()})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self), tuple(self.settings().items()), self.lmbda))


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

    def penalized(self, weights):
        return 0.0

    def gradient(self, w, n):
        return np.zeros_like(w)

    def __repr__(self):
        return "NoRegularizer()"


class L2(Regularizer):
    """L2 weight decay: penalty (lmbda / 2n) sum_w w^2, step w <- (1 - eta lmbda / n) w.

    Examples
    --------
    >>> L2(5.0).penalty([np.ones((2, 2))], n=10)
    1.0
    >>> L2(5.0).factor(eta=0.1, n=10)
    0.95
    """

    name = "l2"
    hyperparameters = {"lmbda": (Regularizer.constraints["lmbda"], None)}
    convex = "l2"

    def __init__(self, lmbda=None):
        if lmbda is None:
            raise TypeError(_NEED_LMBDA.format(cls=type(self).__name__))
        super().__init__(lmbda)

    def penalty(self, weights, n):
        return 0.5 * self.lmbda / check_n(n) * float(sum(np.vdot(w, w) for w in weights))

    def penalized(self, weights):
        return sum(float(np.vdot(w, w)) for w in weights)

    def gradient(self, w, n):
        return (self.lmbda / n) * w

    def factor(self, eta, n):
        return self.check_factor(1.0 - eta * self.lmbda / check_n(n), eta, n)


class L1(Regularizer):
    """L1 weight decay: penalty (lmbda / n) sum_w |w|, step w <- w - eta (lmbda / n) sign(w).

    Parameters
    ----------
    lmbda : float >= 0
    clip : bool
        False (default): Nielsen's sign step, which moves every weight by
        c = eta lmbda / n towards zero and so overshoots a weight smaller than
        c, which then oscillates around zero with amplitude below c. True: the
        proximal (soft-thresholding) step w <- sign(w) max(|w| - c, 0), which
        stops at zero, so weights become exactly zero as in the convex L1
        optimum.

    Examples
    --------
    >>> L1(5.0).penalty([-np.ones((2, 2))], n=10)
    2.0
    >>> w = np.array([0.3, -0.02]); L1(1.0).decay(w, eta=0.5, n=10); w
    array([0.25, 0.03])
    >>> w = np.array([0.3, -0.02]); L1(1.0, clip=True).decay(w, eta=0.5, n=10); w
    array([ 0.25, -0.  ])
    """

    name = "l1"
    hyperparameters = {"lmbda": (Regularizer.constraints["lmbda"], None)}
    convex = "l1"

    def __init__(self, lmbda=None, clip=False):
        if lmbda is None:
            raise TypeError(_NEED_LMBDA.format(cls=type(self).__name__))
        super().__init__(lmbda)
        if not isinstance(clip, bool):
            raise TypeError(f"`clip` must be True or False, got {clip!r}")
        self.clip = clip

    def penalty(self, weights, n):
        return self.lmbda / check_n(n) * float(sum(np.abs(w).sum() for w in weights))

    def penalized(self, weights):
        return sum(float(np.abs(w).sum()) for w in weights)

    def gradient(self, w, n):
        return (self.lmbda / n) * np.sign(w)

    def factor(self, eta, n):
        """1.0: L1 has no multiplicative part; warns when its shrink eta lmbda / n > 0.5."""
        self.check_shrink(eta * self.lmbda / check_n(n), eta, n)
        return 1.0

    def shrink(self, w, eta, n):
        c = eta * self.lmbda / n
        if self.clip:
            sign = np.sign(w)
            np.abs(w, out=w)
            w -= c
            np.maximum(w, 0.0, out=w)
            w *= sign
        else:
            w -= c * np.sign(w)

    def decay_steps(self, w, eta, n, t):
        """The weights after ``t`` steps of decay alone, sign(w) max(|w| - t c, 0).

        Exact for ``clip=True``; with the sign step a weight that reaches zero
        then oscillates within c = eta lmbda / n of it instead.
        """
        return np.sign(w) * np.maximum(np.abs(w) - t * (eta * self.lmbda / n), 0.0)

    def __repr__(self):
        return f"L1(lmbda={self.lmbda!r}" + (", clip=True)" if self.clip else ")")


class StackedDecay:
    """One step's decay of K stacked weight arrays, network k by ``regularizers[k]`` with ``etas[k]``.

    The lockstep sweep's decay: ``W[k] <- a_k W[k]`` for every network whose
    regularizer is a factor only (:attr:`factors`, a_k = ``factor(eta_k, n)``),
    and the regularizer's own :meth:`Regularizer.decay` for each network whose
    regularizer has a shrink (its a_k in :attr:`factors` is 1). The factors are
    computed (and checked) once, here.

    Parameters
    ----------
    regularizers : list of Regularizer
    etas : array (K,)
        Each network's learning rate, in the weights' dtype.
    n : int
        The training-set size.

    Examples
    --------
    >>> W = np.ones((2, 1, 2))
    >>> decay = StackedDecay([L2(5.0), L1(1.0)], np.array([0.1, 0.5]), n=10)
    >>> decay.factors.tolist()
    [0.95, 1.0]
    >>> decay(W); W[:, 0].tolist()
    [[0.95, 0.95], [0.95, 0.95]]
    """

    def __init__(self, regularizers, etas, n):
        etas = np.asarray(etas)
        factors = [r.factor(float(e), n) for e, r in zip(etas, regularizers)]
        #: a_k, the factor part of each network's step (1 where the regularizer decays it)
        self.factors = np.array([1.0 if r.has_shrink else a for a, r in zip(factors, regularizers)],
                                dtype=etas.dtype if etas.dtype.kind == "f" else np.float64)
        self._identity = bool(np.all(self.factors == 1.0))
        self._shaped = {}  # the factors shaped to broadcast over a stack of each ndim
        # (k, regularizer, eta_k, a_k or None): a_k goes to a regularizer's decay as computed
        # here, unless its class writes a decay of its own (which is then called as it is)
        self._shrinkers = [(k, r, float(etas[k]), factors[k] if type(r).decay is Regularizer.decay
                            else None) for k, r in enumerate(regularizers) if r.has_shrink]
        self.n = n

    def __call__(self, W, factors=True):
        """Decay the stack ``W`` (K, ...) in place; ``factors=False``: the shrinking networks only.

        ``factors=False`` is for a stack whose factors are kept lazily elsewhere
        (the lockstep first layer's scales, :class:`wdecay.lazy_scale.LazyScale`).
        """
        if factors and not self._identity:
            shaped = self._shaped.get(W.ndim)
            if shaped is None:
                shaped = self._shaped[W.ndim] = self.factors.reshape((-1,) + (1,) * (W.ndim - 1))
            W *= shaped
        for k, reg, eta, a in self._shrinkers:
            if a is None:
                reg.decay(W[k], eta, self.n)
            else:
                reg.decay(W[k], eta, self.n, a)


def get_regularizer(regularizer, lmbda=None):
    """Return a :class:`Regularizer` from an instance, ``None`` or a name with its lmbda.

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
    if "lmbda" not in cls.hyperparameters:
        if lmbda and cls.hyperparameters:  # one without settings (none) ignores lmbda
            raise TypeError(f"regularizer {regularizer!r} takes no lmbda; its settings are "
                            f"{sorted(cls.hyperparameters) or 'none'}: use "
                            f"make_regularizer({regularizer!r}, settings)")
        return make_regularizer(regularizer, {})
    if lmbda is None:
        raise TypeError(f"regularizer {regularizer!r} needs lmbda: pass "
                        f"regularizer=wdecay.{cls.__name__}(5.0) (or get_regularizer("
                        f"{regularizer!r}, 5.0))")
    return cls() if lmbda is None else cls(lmbda)


def make_regularizer(name, settings):
    """The regularizer registered as ``name``, with its declared settings read from ``settings``.

    Examples
    --------
    >>> make_regularizer("l2", {"lmbda": 5.0, "eta": 0.1})
    L2(lmbda=5.0)
    >>> make_regularizer("none", {"lmbda": 5.0})
    NoRegularizer()
    """
    return REGULARIZERS.make(name, settings)
