"""Optimizers: SGD (Nielsen's, the default), momentum, Nesterov, Adam and AdamW.

Each optimizer turns a parameter's mini-batch mean gradient g into the step s
added to it (p <- p + s) through :meth:`Optimizer.direction`, and decides how the
regularizer's decay enters (``decoupled``):

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

import numpy as np

from ._validation import check_scalar, lookup


class Optimizer:
    """Base class: override :meth:`direction` (and :meth:`start` if it keeps state).

    Parameters
    ----------
    decoupled : bool
        Decoupled weight decay (AdamW style) instead of the penalty's gradient
        going through the optimizer.
    """

    def __init__(self, decoupled=True):
        if not isinstance(decoupled, bool):
            raise TypeError(f"`decoupled` must be True or False, got {decoupled!r}")
        self.decoupled = decoupled
        self.t = 0

    #: True only for an update that is exactly w <- a w - eta g (Nielsen's SGD);
    #: the training step then uses its fused one-gemm update per layer.
    nielsen = False

    def start(self, params):
        """Forget all state and size it for ``params`` (weights, then biases)."""
        self.t = 0

    def state_dict(self):
        """A copy of the optimizer's state: ``{"t": steps taken, "buffers": [[arrays], ...]}``.

        One list of arrays per parameter (weights, then biases), in the order of
        ``network.parameters()``; empty before :meth:`start` or for stateless SGD.

        Examples
        --------
        >>> opt = Momentum(0.5)
        >>> opt.start([np.zeros(2)])
        >>> sorted(opt.state_dict())
        ['buffers', 't']
        """
        buffers = [[np.array(a, copy=True) for a in group] for group in getattr(self, "_state", ())]
        return {"t": int(self.t), "buffers": buffers}

    def load_state_dict(self, state):
        """Put back a :meth:`state_dict`; call after :meth:`start` sized the buffers.

        Raises
        ------
        ValueError
            If ``state`` does not hold this optimizer's buffers, with their shapes.
        """
        if not isinstance(state, dict) or set(state) != {"t", "buffers"}:
            raise ValueError("`state` must be an optimizer state_dict with keys 't' and "
                             f"'buffers', got {type(state).__name__}"
                             + (f" with keys {sorted(state)}" if isinstance(state, dict) else ""))
        t = state["t"]
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"the state's step count `t` must be an integer >= 0, got {t!r}")
        mine = getattr(self, "_state", [])
        theirs = state["buffers"]
        if len(theirs) != len(mine) or any(len(a) != len(b) for a, b in zip(theirs, mine)):
            raise ValueError(f"the state holds {len(theirs)} parameters' buffers; "
                             f"{type(self).__name__} after start() has {len(mine)} "
                             f"(with {[len(b) for b in mine]} buffers each)")
        for i, (new, old) in enumerate(zip(theirs, mine)):
            for a, b in zip(new, old):
                a = np.asarray(a)
                if a.shape != b.shape or not np.isfinite(a).all():
                    raise ValueError(f"the state's buffer for parameter {i} has shape "
                                     f"{a.shape} (finite: {bool(np.isfinite(a).all())}); "
                                     f"expected finite values of shape {b.shape}")
        for new, old in zip(theirs, mine):
            for a, b in zip(new, old):
                np.copyto(b, a, casting="same_kind")
        self.t = int(t)

    def started_for(self, params):
        """Whether :meth:`start` sized the state for ``params`` (shapes and dtypes)."""
        mine = getattr(self, "_state", None)
        if mine is None:
            return not self.stateful
        return (len(mine) == len(params)
                and all(b.shape == p.shape and b.dtype == p.dtype
                        for group, p in zip(mine, params) for b in group))

    #: Whether the optimizer keeps buffers between steps (momentum, Adam).
    stateful = False

    def tick(self):
        """Count one step (before its ``direction`` calls)."""
        self.t += 1

    def direction(self, i, g, eta, decay_grad=None, decay_share=None):
        """The step s for parameter ``i`` (p <- p + s), given its mean gradient ``g``.

        ``decay_grad`` is the penalty's gradient (coupled decay only): it enters
        the optimizer like g. If ``decay_share`` (a buffer) is given, it receives
        the part of s due to ``decay_grad``. The returned array may be a buffer
        reused by the next call.
        """
        raise NotImplementedError

    def _params(self):
        return {k: v for k, v in vars(self).items() if k not in ("t", "_state")}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self._params() == other._params()

    def __hash__(self):
        return hash(type(self))


class SGD(Optimizer):
    """Plain mini-batch SGD: s = -eta (g + decay_grad); decoupled (default) is Nielsen's update.

    Examples
    --------
    >>> float(SGD(decoupled=False).direction(0, np.array([1.0]), 0.5, np.array([0.2]))[0])
    -0.6
    """

    @property
    def nielsen(self):
        return self.decoupled

    def direction(self, i, g, eta, decay_grad=None, decay_share=None):
        s = -eta * g
        if decay_grad is not None:
            d = -eta * decay_grad
            s += d
            if decay_share is not None:
                decay_share[...] = d
        return s


class Momentum(Optimizer):
    """SGD with momentum (heavy ball), or Nesterov's variant; PyTorch's equations.

    v <- mu v + g_t, s = -eta v (heavy ball) or s = -eta (g_t + mu v) (Nesterov),
    with g_t = g + decay_grad when coupled, and v = 0 before the first step.
    The decay's share follows the same recursion on decay_grad alone.

    Parameters
    ----------
    momentum : float in [0, 1)
    nesterov : bool
    decoupled : bool
        False (default, as PyTorch's ``SGD(momentum, weight_decay)``): coupled.
    """

    def __init__(self, momentum=0.9, nesterov=False, decoupled=False):
        super().__init__(decoupled)
        check_scalar(momentum, "momentum", low=0)
        if not momentum < 1:
            raise ValueError(f"`momentum` must be < 1, got {momentum!r}")
        if not isinstance(nesterov, bool):
            raise TypeError(f"`nesterov` must be True or False, got {nesterov!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    stateful = True

    def start(self, params):
        super().start(params)
        self._state = [(np.zeros_like(p), np.zeros_like(p)) for p in params]

    def direction(self, i, g, eta, decay_grad=None, decay_share=None):
        v, vd = self._state[i]
        mu = self.momentum
        gt = g if decay_grad is None else g + decay_grad
        v *= mu
        v += gt
        s = (gt + mu * v) if self.nesterov else v.copy()
        s *= -eta
        if decay_share is not None and decay_grad is not None:
            vd *= mu
            vd += decay_grad
            share = (decay_grad + mu * vd) if self.nesterov else vd
            np.multiply(share, -eta, out=decay_share)
        return s


class Nesterov(Momentum):
    """Nesterov momentum: ``Momentum(momentum, nesterov=True)``."""

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
    with g_t = g + decay_grad when coupled. The decay's share is
    -eta md_hat / (sqrt(v_hat) + eps), md the first moment of decay_grad alone.

    Parameters
    ----------
    beta1, beta2 : float in [0, 1)
    eps : float > 0
    decoupled : bool
        False (default): coupled, PyTorch's ``Adam(weight_decay=lmbda/n)``;
        True: PyTorch's ``AdamW(weight_decay=lmbda/n)``.
    """

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, decoupled=False):
        super().__init__(decoupled)
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            check_scalar(value, name, low=0)
            if not value < 1:
                raise ValueError(f"`{name}` must be < 1, got {value!r}")
        check_scalar(eps, "eps", low=0, inclusive=False)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    stateful = True

    def start(self, params):
        super().start(params)
        self._state = [(np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)) for p in params]

    def direction(self, i, g, eta, decay_grad=None, decay_share=None):
        m, v, md = self._state[i]
        b1, b2, t = self.beta1, self.beta2, self.t
        gt = g if decay_grad is None else g + decay_grad
        m *= b1
        m += (1 - b1) * gt
        v *= b2
        v += (1 - b2) * gt * gt
        denom = np.sqrt(v / (1 - b2 ** t))
        denom += self.eps
        s = m / (1 - b1 ** t)
        s /= denom
        s *= -eta
        if decay_share is not None and decay_grad is not None:
            md *= b1
            md += (1 - b1) * decay_grad
            np.divide(md, 1 - b1 ** t, out=decay_share)
            decay_share /= denom
            decay_share *= -eta
        return s

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


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam,
              "adamw": AdamW}


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
