"""Where each step's change of ||W||^2 comes from: decay against gradient."""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_scalar
from .base import Monitor, signed_gradient_update, squared_norms


class NormBudget(Monitor):
    """Split every step's change of ||W_l||^2 into decay, gradient and second-order parts.

    A step maps W -> W + d + u, with d the decay part and u the gradient part
    (``state.decay_update`` and ``state.gradient_update``: for SGD d = (a - 1) W
    plus the regularizer's shrink and u = -eta g, g the mini-batch mean
    gradient of the unregularized cost; for other optimizers see
    :mod:`wdecay.optim`), so exactly::

        ||W + d + u||^2 - ||W||^2 = D + G + Q,
        D = ||W + d||^2 - ||W||^2,   G = 2 <W + d, u>,   Q = ||u||^2.

    D is the change the decay part alone makes. The monitor never needs the
    weights before the step: W + d = W_after - u, and
    D = 2 <W + d, d> - ||d||^2 has no cancellation. When the decay is a pure
    factor applied as its own step (L2 or none, with SGD or a decoupled
    optimizer), d = (a - 1) W with a = 1 - eta lmbda / n, and the monitor uses
    D = (a^2 - 1) ||W||^2 and G = 2 (<W_after, u> - ||u||^2) directly.

    Per layer and epoch the monitor records the sums ``budget_D``,
    ``budget_G``, ``budget_Q``, the measured change ``budget_measured`` (which
    they add up to, to rounding), the ratio ``R = (G + Q) / (-D)``, also
    recorded as its two parts ``G_ratio`` = G / (-D) and ``Q_ratio`` = Q / (-D)
    (R is about 0 while decay alone sets the norm and about 1 at equilibrium;
    when D < 0, R = 1 + Delta||W||^2 / |D|, Delta||W||^2 the measured change),
    ``tailoff_epoch`` (the first epoch with R >= ``threshold``, NaN before) and
    ``rho``, the epoch's mean of the naive step-norm ratio ||d|| / ||u||.

    ``rho`` misleads: the gradient step is far larger than the decay step, yet
    mostly orthogonal to W, so it barely changes ||W||; R measures the part that
    does. Per-batch: it costs a few dot products per layer and step. An engine
    that sums D, G, Q itself (:mod:`wdecay.torch`) offers ``state.budget_producer``;
    the monitor then reads its sums at the end of each epoch.

    Examples
    --------
    >>> import wdecay
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 4)), rng.integers(0, 2, 30)
    >>> net, budget = wdecay.Network([4, 3, 2], seed=0), NormBudget()
    >>> h = net.fit(X, y, epochs=1, batch_size=10, eta=0.5, regularizer=wdecay.L2(5.0),
    ...             monitors=[budget], seed=0)
    >>> D, G, Q, measured = budget.last_step.T
    >>> bool(np.allclose(D + G + Q, measured, rtol=1e-12))
    True
    """

    needs_weights_before = False  # the budget follows from the weights after the step

    def __init__(self, threshold=0.5):
        self.threshold = check_scalar(threshold, "threshold")

    def on_train_begin(self, state):
        # an engine that sums the budget itself (wdecay.torch) offers budget_producer
        self._producer = getattr(state, "budget_producer", None)
        # a decay that is a pure factor a (no shrink, applied as its own step) gives
        # D = (a^2 - 1) ||W||^2 exactly; otherwise D follows from d and u
        reg, opt = state.regularizer, state.optimizer
        self._factor = None
        if self._producer is None and not reg.has_shrink and (opt is None or opt.decoupled):
            self._factor = reg.factor(state.eta, state.n)
        if len(state.history) == 0 or not hasattr(self, "tailoff"):  # not a continued run
            self.tailoff = {}
        self._last = []
        self._reset(len(state.weights))

    def state_dict(self):
        """``{"tailoff": {layer: epoch}}``: the epochs R first reached the threshold."""
        return {"tailoff": {int(k): int(v) for k, v in getattr(self, "tailoff", {}).items()}}

    def load_state_dict(self, state):
        """Put back :meth:`state_dict`'s tail-off epochs (kept by a continued ``fit``)."""
        if not isinstance(state, dict) or set(state) != {"tailoff"}:
            raise ValueError(f"a NormBudget state must be a dict with the key 'tailoff', got "
                             f"{state!r:.80}")
        try:
            tailoff = {int(k): int(v) for k, v in dict(state["tailoff"]).items()}
        except (TypeError, ValueError):
            raise ValueError("a NormBudget state's 'tailoff' must map layer numbers to "
                             f"epochs, got {state['tailoff']!r:.80}") from None
        if any(k < 1 or v < 1 for k, v in tailoff.items()):
            raise ValueError(f"a NormBudget state's layers and epochs must be >= 1, got {tailoff}")
        self.tailoff = tailoff

    def _reset(self, layers):
        self._sums = [[0.0] * 4 for _ in range(layers)]  # D, G, Q, measured per layer
        self._rho = [0.0] * layers
        self._steps = 0

    def on_epoch_begin(self, state):
        self._reset(len(state.weights))
        if self._producer is None:
            self._norm2 = [float(np.vdot(w, w)) for w in state.weights]

    def on_batch_end(self, state):
        if self._producer is not None:
            return None
        if self._factor is not None:
            return self._factor_step(state, self._factor)
        # u = sign * us (no copy of u): <x, u> = sign <x, us> and ||u||^2 = ||us||^2 exactly
        us, sign = signed_gradient_update(state)
        vdot, rows = np.vdot, []
        for l, (after, d, u, uu, new) in enumerate(zip(
                state.weights, state.decay_update, us, squared_norms(state, "u", us),
                squared_norms(state, "after", state.weights))):
            ww = self._norm2[l]
            dd = float(vdot(d, d))
            # W + d = W_after - u
            wd = float(vdot(after, d)) - sign * float(vdot(u, d))
            wu = sign * float(vdot(after, u)) - uu
            rows.append((2.0 * wd - dd, 2.0 * wu, uu, new - ww))
            self._rho[l] += math.sqrt(dd) / math.sqrt(uu) if uu > 0 else math.nan
            self._norm2[l] = new
        self._add(rows)

    def _factor_step(self, state, a):
        # W_after = a W + u, so <W, u> = (<W_after, u> - ||u||^2) / a: G = 2 a <W, u>
        # = 2 (<W_after, u> - ||u||^2); ||W||^2 is the previous step's ||W_after||^2
        us, sign = signed_gradient_update(state)
        vdot, sqrt, aa1, rows = np.vdot, math.sqrt, a * a - 1.0, []
        norm2, rho = self._norm2, self._rho
        for l, (after, u, uu, new) in enumerate(zip(
                state.weights, us, squared_norms(state, "u", us),
                squared_norms(state, "after", state.weights))):
            ww = norm2[l]
            rows.append((aa1 * ww, 2.0 * (sign * float(vdot(after, u)) - uu), uu, new - ww))
            rho[l] += (1.0 - a) * sqrt(ww) / sqrt(uu) if uu > 0 else math.nan
            norm2[l] = new
        self._add(rows)

    def _add(self, rows):
        self._last = rows
        for sums, row in zip(self._sums, rows):
            for i, v in enumerate(row):
                sums[i] += v
        self._steps += 1

    @property
    def last_step(self):
        """The last step's (D, G, Q, measured change) per layer, shape (layers, 4)."""
        return np.array(self._last, dtype=float)

    def on_epoch_end(self, state):
        if self._producer is not None and state.epoch > 0:
            self._sums, self._rho, self._steps = self._producer.budget_sums()
            self._last = []
        out = {}
        for l in range(1, len(state.weights) + 1):
            D, G, Q, measured = self._sums[l - 1] if self._steps else (math.nan,) * 4
            ok = self._steps and D != 0
            R = (G + Q) / -D if ok else math.nan
            if state.epoch > 0 and l not in self.tailoff and R >= self.threshold:
                self.tailoff[l] = state.epoch
            out.update({f"layer{l}/budget_D": D, f"layer{l}/budget_G": G,
                        f"layer{l}/budget_Q": Q, f"layer{l}/budget_measured": measured,
                        f"layer{l}/R": R,
                        f"layer{l}/G_ratio": G / -D if ok else math.nan,
                        f"layer{l}/Q_ratio": Q / -D if ok else math.nan,
                        f"layer{l}/rho": self._rho[l - 1] / self._steps if self._steps else math.nan,
                        f"layer{l}/tailoff_epoch": self.tailoff.get(l, math.nan)})
        return out
