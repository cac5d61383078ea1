"""Optimizers: SGD (Nielsen's, the default), momentum, Nesterov, Adam and AdamW.

Each optimizer is a chain of :mod:`wdecay.transforms` that turns the
parameters' mini-batch mean gradients g into the steps s added to them
(p <- p + s): its own transforms (:meth:`Optimizer.core`: momentum's velocity,
Adam's normalised direction) between the decay transform and the learning rate.
Where the decay sits decides how the regularizer's decay enters (``decoupled``):

- **coupled** (``decoupled=False``): the penalty's gradient, (lmbda / n) w for
  L2, is added to g and goes through the optimizer, which may rescale it
  (Adam divides it by sqrt(v)); this is PyTorch's ``weight_decay = lmbda / n``
  in ``SGD`` and ``Adam``;
- **decoupled** (``decoupled=True``): the weights are first multiplied by the
  regularizer's factor 1 - eta lmbda / n (and shrunk, for L1), then the
  optimizer steps on g alone: PyTorch's ``AdamW(weight_decay = lmbda / n)``.

For plain SGD both give w <- (1 - eta lmbda / n) w - eta g; SGD's default is
the decoupled form, which is Nielsen's update bit for bit. Biases are never
decayed. An optimizer's state (velocity, moments, step count) is created
afresh by :meth:`Optimizer.start` at the start of every ``fit``, unless ``fit``
is asked to continue it (``reset_optimizer=False``); :meth:`Optimizer.state_dict`
and :meth:`Optimizer.load_state_dict` copy it out and back in, as torch.optim's do.

The decay part of a step (what per-batch monitors see as ``decay_update``, and
``NormBudget`` as D) is, decoupled, the change the factor and shrink make;
coupled, the decay gradient's share of the optimizer's linear buffer (the
velocity, or Adam's first moment), passed through the same step: for Adam,
-eta m_d_hat / (sqrt(v_hat) + eps), with m_d the first moment of the decay
gradients alone and v the second moment of the total gradient. The gradient
part is the rest of the step. See ``docs/optimizers.rst``.

Examples
--------
>>> get_optimizer("adamw")
Adam(beta1=0.9, beta2=0.999, eps=1e-08, decoupled=True)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import transforms as T
from ._validation import lookup
from .registry import Registry

#: The optimizers by name: every :class:`Optimizer` subclass that declares a ``name``
#: (with its settings in ``hyperparameters``), and :func:`AdamW`.
OPTIMIZERS = Registry("optimizer")


class EtaAdvice(NamedTuple):
    """An eta to advise instead of plain SGD's 0.1 (``Optimizer.advised_eta``), and why."""

    eta: float
    #: Why SGD's eta does not suit the optimizer, e.g. "Adam moves every weight by about eta ...".
    why: str
    #: Where the measurement that picked ``eta`` is quoted ("README"), or "".
    see: str = ""


class Optimizer:
    """An optimizer: its transforms between the decay and the learning rate, and its state.

    ``fit`` builds the step as :meth:`transform` (eta, regularizer, n) and keeps
    its state here, so a second ``fit(..., reset_optimizer=False)`` continues it.

    Parameters
    ----------
    decoupled : bool
        Decoupled weight decay (AdamW style, the regularizer's own step last)
        instead of the penalty's gradient going through the optimizer (first).
    core : sequence of Transform
        The optimizer's own transforms (none for SGD); subclasses give theirs
        through :meth:`core`. ``Optimizer(core=[my_transform], decoupled=False)``
        makes an optimizer of a transform the library does not ship.
    """

    #: The registry name (subclasses that declare one are registered); None: unregistered.
    name = None
    #: ``{setting: (constraint, default)}``: the settings the registry makes it from.
    hyperparameters = {}
    #: What the summary says of weight decay under it, by where the decay sits:
    #: ``{"coupled" or "decoupled": (how the decay enters, its pure-decay curve in words or
    #: None when it has none)}``; left out: a sentence read from the chain (wdecay.summary).
    decay_words = {}
    #: ``{"coupled" or "decoupled": EtaAdvice}``: the eta the command line advises when a run
    #: keeps plain SGD's; left out: no advice.
    advised_eta = {}

    def __init_subclass__(cls, register=True, **kwargs):
        """Register a subclass that declares ``name`` (``class X(Base, register=False)``: do not)."""
        super().__init_subclass__(**kwargs)
        _check_declarations(cls)
        if register and "name" in cls.__dict__ and cls.name is not None:
            OPTIMIZERS.add(cls)

    def __init__(self, decoupled=True, core=()):
        if not isinstance(decoupled, bool):
            raise TypeError(f"`decoupled` must be True or False, got {decoupled!r}")
        self.decoupled = decoupled
        self._core = tuple(core)
        for t in self._core:
            if not isinstance(t, T.Transform):
                raise TypeError(f"`core` must hold wdecay.transforms.Transform objects, got {t!r}")
        if not decoupled:
            late = [t for t in self.core() if t.decoupled_only]
            if late:
                raise ValueError(f"{type(late[0]).__name__} takes decoupled weight decay only: "
                                 "pass decoupled=True")
        self.t = 0
        self._state = None

    def core(self):
        """The optimizer's own transforms, between the decay and the learning rate."""
        return list(self._core)

    def transform(self, eta, regularizer, n, mask=T.weights_only):
        """The whole step as one chain.

        Coupled: ``chain(add_decay(regularizer, n), *core, scale(-eta))``;
        decoupled: ``chain(*core, scale(-eta), decay_weights(regularizer, eta, n))``.
        """
        if self.decoupled:
            return T.chain(*self.core(), T.scale(-eta),
                           T.decay_weights(regularizer, eta, n, mask))
        return T.chain(T.add_decay(regularizer, n, mask), *self.core(), T.scale(-eta))

    @property
    def nielsen(self):
        """True for decoupled decay and no transform of its own: w <- a w - eta g, Nielsen's update.

        The training step then uses its fused one-gemm update per layer.
        """
        return self.decoupled and not self.core()

    @property
    def decay_curve(self):
        """What decay alone does under this optimizer: ``"step"``, ``"coupled"`` or None.

        ``"step"``: decay is a step of its own, w <- a w + shrink (decoupled, or
        no transform of its own); ``"coupled"``: the penalty's gradient goes
        through linear transforms (momentum's velocity), so decay alone is the
        chain stepped on a zero cost gradient; None: a transform that depends on
        the gradient (Adam's sqrt(v)) makes the decay depend on the cost, so
        there is no pure-decay curve.

        Examples
        --------
        >>> [get_optimizer(k).decay_curve for k in ("sgd", "momentum", "adam", "adamw")]
        ['step', 'coupled', None, 'step']
        """
        core = self.core()
        if self.decoupled or not core:
            return "step"
        return "coupled" if all(t.linear for t in core) else None

    @property
    def stateful(self):
        """Whether the step keeps buffers between steps (momentum, Adam)."""
        return bool(self.core())

    def start(self, chain, params):
        """Forget all state and size it for ``chain`` on ``params`` (weights, then biases)."""
        self.t = 0
        self._state = chain.init(params)

    def tick(self):
        """Count one step."""
        self.t += 1

    def state_dict(self):
        """A copy of the optimizer's state: ``{"t": steps taken, "state": [one dict per transform]}``.

        Each transform's dict holds per-parameter lists of arrays (weights, then
        biases, as ``network.parameters()``) and counters; ``state`` is None
        before the first ``fit``.

        Examples
        --------
        >>> import wdecay
        >>> opt = Momentum(0.5)
        >>> opt.start(opt.transform(0.1, wdecay.L2(1.0), 10), [np.zeros(2)])
        >>> sorted(opt.state_dict()["state"][1])
        ['v', 'v_decay']
        """
        return {"t": int(self.t), "state": _copy(self._state)}

    def load_state_dict(self, state):
        """Put back a :meth:`state_dict`; the next ``fit(..., reset_optimizer=False)`` continues it.

        The buffers are checked against the network there (shapes and keys);
        if this optimizer already has a state, they are checked now.

        Raises
        ------
        ValueError
            If ``state`` is not such a dict, or does not match, naming where.
        """
        if not isinstance(state, dict) or set(state) != {"t", "state"}:
            raise ValueError("`state` must be an optimizer state_dict with keys 't' and "
                             f"'state', got {type(state).__name__}"
                             + (f" with keys {sorted(state)}" if isinstance(state, dict) else ""))
        t = state["t"]
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"the state's step count `t` must be an integer >= 0, got {t!r}")
        if self._state is not None:
            check_state(state["state"], self._state)
        self._state = _copy(state["state"])
        self.t = int(t)

    def continue_on(self, chain, params):
        """Check that the state held fits ``chain`` on ``params`` (before a continued ``fit``).

        Raises
        ------
        ValueError
            If there is no state, or its buffers do not match, naming where.
        """
        if self._state is None:
            raise ValueError("reset_optimizer=False needs an optimizer with a state (from an "
                             "earlier fit, or load_state_dict()); this one has none")
        try:
            check_state(self._state, chain.init(params))
        except ValueError as exc:
            raise ValueError(f"reset_optimizer=False needs a state sized for this network: {exc}"
                             ) from None

    def _params(self):
        own = {k: v for k, v in vars(self).items()
               if k not in ("t", "_state", "_core", "decoupled")}
        return {"decoupled": self.decoupled, **own}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        if self._core:
            args += f", core={list(self._core)!r}"
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return (type(self) is type(other) and self._params() == other._params()
                and repr(self._core) == repr(other._core))

    def __hash__(self):
        return hash(type(self))


def _check_declarations(cls):
    """Refuse, naming the class, a ``decay_words`` or ``advised_eta`` not as documented."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    for attribute, ok, example in (
            ("decay_words", lambda v: isinstance(v, tuple) and len(v) == 2
             and isinstance(v[0], str) and (v[1] is None or isinstance(v[1], str)),
             '("how decay enters", "its pure-decay curve" or None)'),
            ("advised_eta", lambda v: isinstance(v, EtaAdvice) and isinstance(v.eta, (int, float))
             and not isinstance(v.eta, bool) and 0 < v.eta < math.inf and isinstance(v.why, str)
             and isinstance(v.see, str),
             'EtaAdvice(0.001, "why") with a finite eta > 0')):
        table = getattr(cls, attribute)
        if not isinstance(table, dict) or not set(table) <= {"coupled", "decoupled"}:
            raise TypeError(f"{where}.{attribute} must be a dict keyed by 'coupled' and/or "
                            f"'decoupled', got {table!r}")
        for placement, value in table.items():
            if not ok(value):
                raise TypeError(f"{where}.{attribute}[{placement!r}] must be {example}, "
                                f"got {value!r}")


def _copy(state):
    if isinstance(state, dict):
        return {k: _copy(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [_copy(v) for v in state]
    if isinstance(state, np.ndarray):
        return state.copy()
    return state


def check_state(new, old, where="state"):
    """Raise ValueError naming the first place where state ``new`` does not match ``old``'s layout."""
    if isinstance(old, dict):
        if not isinstance(new, dict) or set(new) != set(old):
            raise ValueError(f"the state's {where} must have the keys {sorted(old)}, got "
                             f"{sorted(new) if isinstance(new, dict) else type(new).__name__}")
        for k in old:
            check_state(new[k], old[k], f"{where}[{k!r}]")
    elif isinstance(old, list):
        if not isinstance(new, (list, tuple)) or len(new) != len(old):
            raise ValueError(f"the state's {where} must hold {len(old)} entries, got "
                             f"{len(new) if isinstance(new, (list, tuple)) else type(new).__name__}")
        for k, (a, b) in enumerate(zip(new, old)):
            check_state(a, b, f"{where}[{k}]")
    elif isinstance(old, np.ndarray):
        a = np.asarray(new)
        if a.shape != old.shape or not np.can_cast(a.dtype, old.dtype, "same_kind") \
                or not np.isfinite(a).all():
            raise ValueError(f"the state's {where} must be finite values of shape {old.shape} "
                             f"({old.dtype}), got shape {a.shape} ({a.dtype})")
    elif isinstance(old, (int, np.integer)):
        if isinstance(new, (bool, np.bool_)) or not isinstance(new, (int, np.integer)) or new < 0:
            raise ValueError(f"the state's {where} must be an integer >= 0, got {new!r}")


class SGD(Optimizer):
    """Plain mini-batch SGD: s = -eta (g + decay_grad); decoupled (default) is Nielsen's update.

    Examples
    --------
    >>> SGD().nielsen, SGD(decoupled=False).nielsen
    (True, False)
    """

    name = "sgd"

    def __init__(self, decoupled=True):
        super().__init__(decoupled)


class Momentum(Optimizer):
    """SGD with momentum (heavy ball), or Nesterov's variant; PyTorch's equations.

    v <- mu v + g_t, s = -eta v (heavy ball) or s = -eta (g_t + mu v) (Nesterov),
    with g_t = g + decay_grad when coupled, and v = 0 before the first step
    (:func:`wdecay.transforms.trace`).

    Parameters
    ----------
    momentum : float in [0, 1)
    nesterov : bool
    decoupled : bool
        False (default, as PyTorch's ``SGD(momentum, weight_decay)``): coupled.
    """

    name = "momentum"
    decay_words = {"coupled": (
        "the penalty's gradient goes through the velocity with the cost's",
        "the optimizer stepped on the penalty's gradient alone, velocity included "
        "(about 1/(1 - mu) times SGD's rate once the velocity has built up)")}
    hyperparameters = {"momentum": (T.Trace.constraints["momentum"], 0.9)}  # [0, 1)

    def __init__(self, momentum=0.9, nesterov=False, decoupled=False):
        T.trace(momentum, nesterov)  # checks the settings
        self.momentum = float(momentum)
        self.nesterov = nesterov
        super().__init__(decoupled)

    def core(self):
        return [T.trace(self.momentum, self.nesterov)]


class Nesterov(Momentum):
    """Nesterov momentum: ``Momentum(momentum, nesterov=True)``."""

    name = "nesterov"

    def __init__(self, momentum=0.9, decoupled=False):
        super().__init__(momentum, nesterov=True, decoupled=decoupled)

    def _params(self):
        params = super()._params()
        params.pop("nesterov")
        return params


class Adam(Optimizer):
    """Adam (Kingma and Ba), with PyTorch's equations; ``decoupled=True`` is AdamW.

    m <- b1 m + (1 - b1) g_t, v <- b2 v + (1 - b2) g_t^2,
    s = -eta m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t),
    with g_t = g + decay_grad when coupled (:func:`wdecay.transforms.scale_by_adam`).

    Parameters
    ----------
    beta1, beta2 : float in [0, 1)
    eps : float > 0
    decoupled : bool
        False (default): coupled, PyTorch's ``Adam(weight_decay=lmbda/n)``;
        True: PyTorch's ``AdamW(weight_decay=lmbda/n)``.
    """

    name = "adam"
    decay_words = {
        "coupled": ("Adam divides the penalty's gradient by the running RMS of the whole "
                    "gradient", None),
        "decoupled": ("the penalty's decay step acts on the weights before Adam's step, "
                      "whatever the gradients", "the decay step alone, as for SGD")}
    #: Of 0.1, 0.01 and 0.001, the eta with the best test accuracy in the default experiment
    #: (examples/adaptive_eta.py; README.md quotes the table, tests/test_readme.py checks it).
    advised_eta = {placement: EtaAdvice(eta, "Adam moves every weight by about eta per step "
                                        "whatever its gradient", "README")
                   for placement, eta in (("coupled", 0.001), ("decoupled", 0.01))}
    hyperparameters = {"beta1": (T.ScaleByAdam.constraints["beta1"], 0.9),  # [0, 1)
                       "beta2": (T.ScaleByAdam.constraints["beta2"], 0.999)}

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, decoupled=False):
        T.scale_by_adam(beta1, beta2, eps)  # checks the settings
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        super().__init__(decoupled)

    def core(self):
        return [T.scale_by_adam(self.beta1, self.beta2, self.eps)]

    def __repr__(self):
        return (f"Adam(beta1={self.beta1!r}, beta2={self.beta2!r}, eps={self.eps!r}, "
                f"decoupled={self.decoupled!r})")


def AdamW(beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``Adam(..., decoupled=True)``.

    Examples
    --------
    >>> AdamW().decoupled
    True
    """
    return Adam(beta1, beta2, eps, decoupled=True)


OPTIMIZERS.add(AdamW, "adamw", Adam.hyperparameters)


class Lion(Optimizer):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): s = -eta sign(.).

    Its step has unit size per weight whatever the gradient, so weight decay
    enters decoupled only (:func:`wdecay.transforms.scale_by_lion`).

    Examples
    --------
    >>> Lion().decoupled
    True
    """

    name = "lion"
    decay_words = {"decoupled": ("the penalty's decay step acts on the weights before Lion's "
                                 "sign step, whatever the gradients",
                                 "the decay step alone, as for SGD")}
    hyperparameters = {"beta1": (T.ScaleByLion.constraints["beta1"], 0.9),  # [0, 1)
                       "beta2": (T.ScaleByLion.constraints["beta2"], 0.99)}

    def __init__(self, beta1=0.9, beta2=0.99):
        T.scale_by_lion(beta1, beta2)  # checks the settings
        self.beta1, self.beta2 = float(beta1), float(beta2)
        super().__init__(True)

    def core(self):
        return [T.scale_by_lion(self.beta1, self.beta2)]



def declaration(optimizer, attribute):
    """What ``optimizer``'s class declares in ``attribute`` (``decay_words``, ``advised_eta``)
    for where its decay sits, or None.

    Examples
    --------
    >>> declaration(get_optimizer("adamw"), "advised_eta").eta
    0.01
    >>> declaration(Momentum(decoupled=True), "decay_words") is None
    True
    """
    table = getattr(optimizer, attribute, None) or {}
    return table.get("decoupled" if optimizer.decoupled else "coupled")


def optimizer_name(optimizer):
    """The registry name of ``optimizer``'s kind (``"adamw"``), or its class name if none fits.

    Examples
    --------
    >>> optimizer_name(Nesterov(0.5)), optimizer_name(AdamW()), optimizer_name(None)
    ('nesterov', 'adamw', 'sgd')
    """
    if optimizer is None:
        return "sgd"
    for name, make in OPTIMIZERS.items():
        if isinstance(make, type) and type(optimizer) is not make:
            continue
        try:
            ref = make(**OPTIMIZERS.defaults(name))
        except TypeError:  # a setting without a default: its class is all there is to compare
            ref = optimizer
        if (type(ref) is type(optimizer) and ref.decoupled == optimizer.decoupled
                and getattr(ref, "nesterov", None) == getattr(optimizer, "nesterov", None)
                and not optimizer._core):
            return name
    return type(optimizer).__name__


def get_optimizer(optimizer=None, **kwargs):
    """An :class:`Optimizer` from an instance, None (plain SGD) or a name with its settings.

    Examples
    --------
    >>> get_optimizer(None)
    SGD(decoupled=True)
    >>> get_optimizer("momentum", momentum=0.5)
    Momentum(decoupled=False, momentum=0.5, nesterov=False)
    """
    if isinstance(optimizer, Optimizer):
        if kwargs:
            raise TypeError(f"settings {sorted(kwargs)} are only for an optimizer given by name")
        return optimizer
    if optimizer is None:
        optimizer = "sgd"
    return lookup(OPTIMIZERS, optimizer, "optimizer")(**kwargs)
