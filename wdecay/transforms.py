"""Gradient transforms, composed with :func:`chain`: the one place an optimizer's step is written.

In the spirit of optax, a transform has two methods::

    state = t.init(params)                             # per-parameter buffers
    updates, state = t.update(grads, state, params)    # p <- p + updates

``grads``, ``updates`` and ``params`` are lists of arrays, one per parameter
(a network's weights, then its biases). An optimizer is a chain, for example
coupled momentum::

    chain(add_decay(regularizer, n), trace(0.9), scale(-eta))

Weight decay is one transform, and where it sits decides what it is:

- **coupled**: :func:`add_decay` first adds the penalty's gradient, e.g.
  (lmbda/n) w for L2, to the mean gradient, and the rest of the chain scales
  both (Adam divides them by sqrt(v));
- **decoupled**: :func:`decay_weights` last applies the regularizer's own step,
  w <- a w + shrink with a = 1 - eta lmbda/n, whatever the chain did to g
  (AdamW; Nielsen's SGD is ``chain(scale(-eta), decay_weights(...))``).

Which parameters are decayed is a mask (:func:`weights_only`: arrays of two or
more dimensions, so biases are not), not a position.

**The decay part of a step.** For the norm budget D + G + Q = delta ||W||^2, a
step is split into the decay part d and the rest u. Decoupled, d is the change
:func:`decay_weights` makes. Coupled, d is the decay gradient passed through
the rest of the chain the way the chain passed the total gradient: every
transform's :meth:`Transform.split` maps that share with the linear map its
last :meth:`~Transform.update` applied (momentum keeps a velocity of the decay
gradients alone; Adam and any :class:`Preconditioner` divide by the same
denominator). A transform without ``split`` leaves the decay part unknown.

Examples
--------
>>> import numpy as np
>>> t = chain(trace(0.5), scale(-0.1))
>>> state = t.init([np.zeros(2)])
>>> updates, state = t.update([np.ones(2)], state, [np.zeros(2)])
>>> updates[0].tolist()
[-0.1, -0.1]
>>> updates, state = t.update([np.ones(2)], state, [np.zeros(2)])
>>> updates[0].tolist()
[-0.15000000000000002, -0.15000000000000002]
"""

from __future__ import annotations

import operator

import numpy as np

from .registry import check_declared, real

__all__ = ["Transform", "Preconditioner", "Chain", "chain", "scale", "trace", "scale_by_adam",
           "scale_by_lion", "add_decay", "decay_weights", "weights_only"]


def weights_only(params):
    """The default decay mask: True for arrays of 2 or more dimensions (weights), not biases.

    Examples
    --------
    >>> weights_only([np.zeros((2, 3)), np.zeros(2)])
    [True, False]
    """
    return [np.ndim(p) >= 2 for p in params]


def _mask(mask, params, cache=None):
    """The mask's flags for ``params``; with a ``cache`` dict, computed once per parameter layout."""
    if cache is not None:  # keyed by the arrays themselves: a step reuses its parameters
        key = tuple(map(id, params))
        flags = cache.get(key)
        if flags is None:
            flags = cache[key] = _mask(mask, params)
        return flags
    flags = mask(params) if callable(mask) else list(mask)
    if len(flags) != len(params):
        raise ValueError(f"the decay mask has {len(flags)} entries for {len(params)} parameters")
    return [bool(f) for f in flags]


class Transform:
    """A gradient transform: override :meth:`init`, :meth:`update` and, to split, :meth:`split`.

    ``decoupled_only``: True for a transform whose updates do not scale with the
    gradient (Lion's sign step), so a coupled decay before it would not be a
    penalty's gradient; :class:`Chain` refuses that order.
    """

    decoupled_only = False
    #: True for a transform whose update is linear in the gradient and does not
    #: depend on it otherwise (scaling, momentum): decay alone then has a curve.
    linear = False

    def init(self, params):
        """The state for ``params``: a dict of per-parameter lists (empty by default)."""
        return {}

    def update(self, grads, state, params):
        """``(updates, state)`` for the mean gradients ``grads``.

        Leave ``grads`` unchanged and return arrays the transform does not keep
        (a chain may scale them in place).
        """
        raise NotImplementedError

    def split(self, share, state, params):
        """The decay's share of the last update: ``share`` mapped as the last update mapped ``grads``.

        ``share`` has one entry per parameter (None where nothing is decayed).
        Returns ``(share, state)``, or ``(None, state)`` when this transform
        cannot split (the default).
        """
        return None, state

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Preconditioner(Transform):
    """A transform that divides the gradient by a per-element denominator it keeps in its state.

    Override :meth:`denominator` (update the state, return the denominators);
    ``update`` returns g / denom and ``split`` maps the decay's share by the
    same denominator, so the norm budget of any chain with it adds up.
    """

    def denominator(self, i, g, state):
        """The array g is divided by, for parameter ``i`` (update ``state`` in place)."""
        raise NotImplementedError

    def update(self, grads, state, params):
        denoms = [self.denominator(i, g, state) for i, g in enumerate(grads)]
        self._denoms = denoms
        return [g / d for g, d in zip(grads, denoms)], state

    def split(self, share, state, params):
        return [None if s is None else s / d for s, d in zip(share, self._denoms)], state


class Scale(Transform):
    """u = factor * g (the learning rate, with its sign: ``scale(-eta)``)."""

    linear = True

    def __init__(self, factor):
        self.factor = float(factor)

    def update(self, grads, state, params):
        f = self.factor
        return [g * f for g in grads], state

    def update_in_place(self, grads, state, params):
        """:meth:`update` on arrays the caller owns (a chain's intermediate results)."""
        f = self.factor
        for g in grads:
            g *= f
        return grads, state

    def split(self, share, state, params):
        f = self.factor
        return [None if s is None else s * f for s in share], state


def scale(factor):
    """u = factor g; ``scale(-eta)`` is the learning rate (the chain's last scaling)."""
    return Scale(factor)


class Trace(Transform):
    """Momentum (PyTorch's equations): v <- mu v + g; u = v, or g + mu v (Nesterov).

    The decay's share follows the same recursion on the decay gradients alone,
    in a second velocity v_d.
    """

    linear = True
    #: The settings' constraints (:func:`wdecay.registry.check_declared`); ``Momentum`` declares
    #: the same one in its ``hyperparameters``.
    constraints = {"momentum": real(0, high=1)}

    def __init__(self, momentum=0.9, nesterov=False):
        check_declared(self, momentum=momentum)
        if not isinstance(nesterov, bool):
            raise TypeError(f"`nesterov` must be True or False, got {nesterov!r}")
        self.momentum, self.nesterov = float(momentum), nesterov

    def init(self, params):
        return {"v": [np.zeros_like(p) for p in params],
                "v_decay": [np.zeros_like(p) for p in params]}

    def update(self, grads, state, params):
        mu, out = self.momentum, []
        for g, v in zip(grads, state["v"]):
            v *= mu
            v += g
            out.append(g + mu * v if self.nesterov else v.copy())
        return out, state

    def split(self, share, state, params):
        mu, out = self.momentum, []
        for s, vd in zip(share, state["v_decay"]):
            if s is None:
                out.append(None)
                continue
            vd *= mu
            vd += s
            out.append(s + mu * vd if self.nesterov else vd.copy())
        return out, state


def trace(momentum=0.9, nesterov=False):
    """Momentum's velocity: v <- mu v + g, u = v (or g + mu v with ``nesterov``)."""
    return Trace(momentum, nesterov)


class ScaleByAdam(Transform):
    """Adam's direction (PyTorch's equations), without the learning rate.

    m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, t <- t + 1,
    u = m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
    The decay's share is m_d_hat / (sqrt(v_hat) + eps), m_d the first moment of
    the decay gradients alone; v, of the total gradient, does not split.
    """

    #: The settings' constraints; ``Adam`` declares the betas' in its ``hyperparameters``.
    constraints = {"beta1": real(0, high=1), "beta2": real(0, high=1),
                   "eps": real(0, inclusive=False)}

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8):
        check_declared(self, beta1=beta1, beta2=beta2, eps=eps)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def init(self, params):
        return {"count": 0, "m": [np.zeros_like(p) for p in params],
                "v": [np.zeros_like(p) for p in params],
                "m_decay": [np.zeros_like(p) for p in params]}

    def update(self, grads, state, params):
        b1, b2 = self.beta1, self.beta2
        state["count"] = t = state["count"] + 1
        out, denoms = [], []
        for g, m, v in zip(grads, state["m"], state["v"]):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            denom = np.sqrt(v / (1 - b2 ** t))
            denom += self.eps
            s = m / (1 - b1 ** t)
            s /= denom
            out.append(s)
            denoms.append(denom)
        self._denoms = denoms
        return out, state

    def split(self, share, state, params):
        b1, t, out = self.beta1, state["count"], []
        for s, md, denom in zip(share, state["m_decay"], self._denoms):
            if s is None:
                out.append(None)
                continue
            md *= b1
            md += (1 - b1) * s
            d = md / (1 - b1 ** t)
            d /= denom
            out.append(d)
        return out, state


def scale_by_adam(beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam's normalised direction m_hat / (sqrt(v_hat) + eps) (no learning rate)."""
    return ScaleByAdam(beta1, beta2, eps)


class ScaleByLion(Transform):
    """Lion (Chen et al. 2023): u = sign(b1 m + (1 - b1) g), then m <- b2 m + (1 - b2) g.

    Its step has the same size whatever the gradient's, so it takes decoupled
    decay only (``decoupled_only``).
    """

    decoupled_only = True
    #: The settings' constraints; ``Lion`` declares them in its ``hyperparameters``.
    constraints = {"beta1": real(0, high=1), "beta2": real(0, high=1)}

    def __init__(self, beta1=0.9, beta2=0.99):
        check_declared(self, beta1=beta1, beta2=beta2)
        self.beta1, self.beta2 = float(beta1), float(beta2)

    def init(self, params):
        return {"m": [np.zeros_like(p) for p in params]}

    def update(self, grads, state, params):
        b1, b2, out = self.beta1, self.beta2, []
        for g, m in zip(grads, state["m"]):
            out.append(np.sign(b1 * m + (1 - b1) * g))
            m *= b2
            m += (1 - b2) * g
        return out, state


def scale_by_lion(beta1=0.9, beta2=0.99):
    """Lion's sign step (decoupled decay only)."""
    return ScaleByLion(beta1, beta2)


class AddDecay(Transform):
    """Coupled decay: g <- g + d penalty / dw on the masked parameters (L2: + (lmbda/n) w)."""

    def __init__(self, regularizer, n, mask=weights_only):
        self.regularizer, self.n, self.mask = regularizer, n, mask
        self._flags = {}

    def update(self, grads, state, params):
        flags = _mask(self.mask, params, self._flags)
        self._last = [self.regularizer.gradient(p, self.n) if f else None
                      for p, f in zip(params, flags)]
        return [g if d is None else g + d for g, d in zip(grads, self._last)], state

    def split(self, share, state, params):
        # the chain's split starts here: the decay's share is the decay gradient itself
        return [None if d is None else d.copy() for d in self._last], state


def add_decay(regularizer, n, mask=weights_only):
    """Coupled weight decay: add the penalty's gradient to the mean gradient (first in a chain)."""
    return AddDecay(regularizer, n, mask)


class DecayWeights(Transform):
    """Decoupled decay: the regularizer's own step on the masked parameters, w <- a w + shrink.

    As the last transform of a chain its update adds d = (a w + shrink) - w;
    the training step applies it in place as ``regularizer.decay`` instead
    (Nielsen's rounding), then adds the rest of the chain.
    """

    def __init__(self, regularizer, eta, n, mask=weights_only):
        self.regularizer, self.eta, self.n, self.mask = regularizer, eta, n, mask
        self._flags = {}

    def update(self, grads, state, params):
        flags = _mask(self.mask, params, self._flags)
        return [u + self.regularizer.decay_step(p, self.eta, self.n) if f else u
                for u, p, f in zip(grads, params, flags)], state

    def split(self, share, state, params):
        flags = _mask(self.mask, params, self._flags)
        return [self.regularizer.decay_step(p, self.eta, self.n) if f else None
                for p, f in zip(params, flags)], state


def decay_weights(regularizer, eta, n, mask=weights_only):
    """Decoupled weight decay: the regularizer's step w <- a w + shrink (last in a chain)."""
    return DecayWeights(regularizer, eta, n, mask)


class Chain(Transform):
    """Transforms applied in order; the state is one state per transform.

    The chains the optimizers build, ``[add_decay,] trace | scale_by_adam, scale``,
    run fused (:class:`_Fused`): one pass over the parameters per step, with the
    same floating-point operations in the same order as the transforms one
    after the other, so the same bits; any other chain runs its transforms in turn.
    """

    def __init__(self, *transforms):
        for t in transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"chain() takes Transforms, got {t!r}")
        for k, t in enumerate(transforms):
            if isinstance(t, AddDecay):
                late = [u for u in transforms[k + 1:] if u.decoupled_only]
                if late:
                    raise ValueError(f"{type(late[0]).__name__} takes decoupled decay only: put "
                                     "decay_weights(...) last instead of add_decay(...) first")
        self.transforms = tuple(transforms)
        self._fused_for, self._fused = None, None

    def init(self, params):
        return [t.init(params) for t in self.transforms]

    def _plan(self):
        """The fused form of this chain, or None (rebuilt if ``transforms`` was replaced)."""
        if self._fused_for is not self.transforms:
            self._fused_for, self._fused = self.transforms, _Fused.of(self.transforms)
        return self._fused

    def update(self, grads, state, params):
        fused = self._fused if self._fused_for is self.transforms else self._plan()
        if fused is not None:
            return fused.update(grads, state, params)
        state = list(state)
        given = grads
        for k, t in enumerate(self.transforms):
            # a transform's outputs are its own new arrays: scale those in place, unless
            # one is still a given gradient (a transform passed it through)
            if k and type(t) is Scale and not any(a is b for a, b in zip(grads, given)):
                grads, state[k] = t.update_in_place(grads, state[k], params)
            else:
                grads, state[k] = t.update(grads, state[k], params)
        return grads, state

    def split(self, share, state, params, into=None):
        """As :meth:`Transform.split`; ``into``: optional arrays (one per parameter, or
        None) a fused chain writes the shares into where it can (the same bits)."""
        fused = self._fused if self._fused_for is self.transforms else self._plan()
        if fused is not None and fused.decay is not None:
            return fused.split(state, into)
        state = list(state)
        for k, t in enumerate(self.transforms):
            share, state[k] = t.split(share, state[k], params)
            if share is None:
                return None, state
        return share, state

    @property
    def decay(self):
        """The decay transform of the chain and whether it is decoupled, or (None, None)."""
        for t in self.transforms:
            if isinstance(t, (AddDecay, DecayWeights)):
                return t, isinstance(t, DecayWeights)
        return None, None

    def __repr__(self):
        return f"chain({', '.join(map(repr, self.transforms))})"


class _Fused:
    """One step of ``[add_decay,] core, scale`` in one loop over the parameters.

    ``core`` is a :class:`Trace` or a :class:`ScaleByAdam` (exact types: a
    subclass may change the arithmetic). Each parameter's update is computed by
    the operations the transforms would run one after the other, in the same
    order, and the transforms' attributes (``_last``, ``_denoms``) and state
    are left as they would leave them; what goes is the per-transform lists,
    the chain's bookkeeping and, for Adam, the temporaries (kept per parameter
    layout, in ``_Fused._buffers``). ``tests/test_transforms_speedpaths.py``
    holds the fused and the one-by-one steps to the same bits.
    """

    __slots__ = ("decay", "core", "scale", "k", "_key", "_flags", "_gt", "_tmp", "_den")

    @classmethod
    def of(cls, transforms):
        types = tuple(map(type, transforms))
        if types[:1] == (AddDecay,):
            decay, rest = transforms[0], transforms[1:]
        else:
            decay, rest = None, transforms
        if (len(rest) != 2 or type(rest[1]) is not Scale
                or type(rest[0]) not in (Trace, ScaleByAdam)):
            return None
        return cls(decay, rest[0], rest[1], len(transforms) - 2)

    def __init__(self, decay, core, scale, k):
        self.decay, self.core, self.scale, self.k = decay, core, scale, k
        self._key = None

    def _buffers(self, grads, params):
        """Decay flags and temporaries for this parameter layout (the same arrays: cached)."""
        key = self._key
        same = operator.is_
        if (key is None or len(key[0]) != len(params) or len(key[1]) != len(grads)
                or not all(map(same, key[0], params)) or not all(map(same, key[1], grads))):
            self._key = (tuple(params), tuple(grads))  # strong references: ids stay theirs
            decay = self.decay
            self._flags = (_mask(decay.mask, params, decay._flags) if decay is not None
                           else [False] * len(params))
            self._gt = [np.empty_like(g) if f else None for g, f in zip(grads, self._flags)]
            if type(self.core) is ScaleByAdam:
                self._tmp = [np.empty_like(g) for g in grads]
                self._den = [None] * len(grads)
        return self._flags

    def _decayed(self, grads, params, flags):
        """g + d on the decayed parameters (AddDecay's update); d kept as the decay's ``_last``."""
        decay = self.decay
        if decay is None:
            return grads
        gradient, n, add = decay.regularizer.gradient, decay.n, np.add
        last = decay._last = [gradient(p, n) if f else None for p, f in zip(params, flags)]
        # g + d into a buffer of the chain's when that is what g + d would give
        return [g if d is None else
                add(g, d, out=b) if d.dtype is b.dtype and d.shape == b.shape else g + d
                for g, d, b in zip(grads, last, self._gt)]

    def update(self, grads, state, params):
        if type(state) is not list:
            state = list(state)
        flags = self._buffers(grads, params)
        grads = self._decayed(grads, params, flags)
        f, core, st = self.scale.factor, self.core, state[self.k]
        out = []
        if type(core) is Trace:
            mu, multiply = core.momentum, np.multiply
            if core.nesterov:
                for g, v in zip(grads, st["v"]):
                    v *= mu
                    v += g
                    if g.dtype is v.dtype:
                        u = multiply(v, mu)
                        u += g                        # g + mu v (addition commutes)
                    else:
                        u = g + mu * v
                    u *= f
                    out.append(u)
            else:
                for g, v in zip(grads, st["v"]):
                    v *= mu
                    v += g
                    out.append(multiply(v, f))  # v.copy() scaled in place: the same bits
            return out, state
        b1, b2 = core.beta1, core.beta2
        st["count"] = t = st["count"] + 1
        c1, c2, bc1, bc2, eps = 1 - b1, 1 - b2, 1 - b1 ** t, 1 - b2 ** t, core.eps
        multiply, divide, sqrt = np.multiply, np.divide, np.sqrt
        dens = self._den
        for i, (g, m, v, tmp) in enumerate(zip(grads, st["m"], st["v"], self._tmp)):
            if flags[i] and (g.dtype is not tmp.dtype or g.shape != tmp.shape):
                tmp = np.empty_like(g)  # the regularizer's d made g + d another dtype
            m *= b1
            m += multiply(g, c1, out=tmp)            # (1 - b1) g
            v *= b2
            multiply(g, c2, out=tmp)
            tmp *= g
            v += tmp                                  # (1 - b2) g g
            den = dens[i]
            if den is None or den.dtype is not v.dtype or den.shape != v.shape:
                den = dens[i] = np.empty_like(v)
            sqrt(divide(v, bc2, out=den), out=den)
            den += eps
            s = divide(m, bc1)
            s /= den
            s *= f
            out.append(s)
        core._denoms = list(dens)
        return out, state

    def split(self, state, into=None):
        """The decay's share of the last update (the chain starts with ``add_decay``).

        ``into``: optional arrays, one per parameter (or None); a share whose
        dtype and shape match its array is written there (the same operations).
        """
        if type(state) is not list:
            state = list(state)
        f, core, st, last = self.scale.factor, self.core, state[self.k], self.decay._last
        if into is None:
            into = (None,) * len(last)
        out = []
        multiply = np.multiply
        if type(core) is Trace:
            mu, nesterov = core.momentum, core.nesterov
            for d, vd, o in zip(last, st["v_decay"], into):
                if d is None:
                    out.append(None)
                    continue
                vd *= mu
                vd += d
                if nesterov:
                    u = d + mu * vd
                    u *= f
                elif o is not None and o.dtype is vd.dtype and o.shape == vd.shape:
                    u = multiply(vd, f, out=o)
                else:
                    u = multiply(vd, f)
                out.append(u)
            return out, state
        b1, t = core.beta1, st["count"]
        c1, bc1 = 1 - b1, 1 - b1 ** t
        divide = np.divide
        for d, md, den, tmp, o in zip(last, st["m_decay"], core._denoms, self._tmp, into):
            if d is None:
                out.append(None)
                continue
            md *= b1
            md += (multiply(d, c1, out=tmp) if d.dtype is tmp.dtype and d.shape == tmp.shape
                   else c1 * d)
            if o is not None and o.dtype is md.dtype and o.shape == md.shape:
                u = divide(md, bc1, out=o)
            else:
                u = divide(md, bc1)
            u /= den
            u *= f
            out.append(u)
        return out, state


def chain(*transforms):
    """The transforms applied one after the other: ``chain(add_decay(...), trace(0.9), scale(-eta))``."""
    return Chain(*transforms)
