"""Where each step's change of ||W||^2 comes from: decay against gradient."""

from __future__ import annotations

import math

import numpy as np

from .base import Monitor


class NormBudget(Monitor):
    """Split every step's change of ||W_l||^2 into decay, gradient and second-order parts.

    A step maps W -> W + d + u, with d the decay part and u = -eta g the
    gradient part (g the mini-batch mean gradient of the unregularized cost), so
    exactly::

        ||W + d + u||^2 - ||W||^2 = D + G + Q,
        D = ||W + d||^2 - ||W||^2,   G = 2 <W + d, u>,   Q = ||u||^2.

    Under L2, d = (a - 1) W with a = 1 - eta lmbda / n, so D = (a^2 - 1) ||W||^2,
    G = -2 a eta <W, g> and Q = eta^2 ||g||^2. Under L1, d = -eta (lmbda/n) sign(W)
    and D = 2 <W, d> + ||d||^2. Per layer and epoch the monitor records the
    sums ``budget_D``, ``budget_G``, ``budget_Q``, the measured change
    ``budget_measured`` (which they add up to, to rounding), the ratio
    ``R = (G + Q) / (-D)`` (about 0 while decay alone sets the norm, about 1 at
    equilibrium), ``tailoff_epoch`` (the first epoch with R >= ``threshold``,
    NaN before) and ``rho``, the epoch's mean of the naive step-norm ratio
    ||d|| / ||u||.

    ``rho`` misleads: the gradient step is far larger than the decay step, yet
    mostly orthogonal to W, so it barely changes ||W||; R measures the part that
    does. Per-batch: it costs a few dot products per layer and step.
    """

    needs_weights_before = True  # only under L1 or no penalty; see on_train_begin

    def __init__(self, threshold=0.5):
        self.threshold = threshold

    def on_train_begin(self, state):
        # Under L2 the weights before a step follow from the norms after it (below),
        # so the loop need not copy them every step.
        self.needs_weights_before = state.regularizer.name != "l2"
        self.tailoff = {}
        self._last = []
        self._reset(len(state.weights))

    def _reset(self, layers):
        self._sums = [[0.0] * 4 for _ in range(layers)]  # D, G, Q, measured per layer
        self._rho = [0.0] * layers
        self._steps = 0

    def on_epoch_begin(self, state):
        self._reset(len(state.weights))
        self._norm2 = [float(np.vdot(w, w)) for w in state.weights]

    def on_batch_end(self, state):
        if not self.needs_weights_before:
            return self._l2_step(state)
        step = state.step
        rows = []
        for l, (before, after, s) in enumerate(zip(step.weights_before, state.weights,
                                                   step.scaled_grad_w)):
            ww, ws, ss = np.vdot(before, before), np.vdot(before, s), np.vdot(s, s)
            d = step.decay_update[l]
            wd, dd = np.vdot(before, d), np.vdot(d, d)
            D, G, d_norm = 2.0 * wd + dd, -2.0 * (ws + np.vdot(d, s)), math.sqrt(dd)
            measured = np.vdot(after, after) - ww
            rows.append((D, G, ss, measured))
            self._rho[l] += d_norm / math.sqrt(ss) if ss > 0 else math.nan
        self._add(rows)

    def _l2_step(self, state):
        # W_after = a W - s with s = eta g, so <W, s> = (<W_after, s> + ||s||^2) / a, and
        # ||W||^2 is the previous step's ||W_after||^2 (measured afresh each epoch).
        a = 1.0 - state.eta * state.lmbda / state.n
        rows = []
        for l, (after, s) in enumerate(zip(state.weights, state.step.scaled_grad_w)):
            ww = self._norm2[l]
            ss, ws_after, new = float(np.vdot(s, s)), float(np.vdot(after, s)), float(np.vdot(after, after))
            D, G = (a * a - 1.0) * ww, -2.0 * (ws_after + ss)
            rows.append((D, G, ss, new - ww))
            self._rho[l] += (1.0 - a) * math.sqrt(ww) / math.sqrt(ss) if ss > 0 else math.nan
            self._norm2[l] = new
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
        out = {}
        for l in range(1, len(state.weights) + 1):
            D, G, Q, measured = self._sums[l - 1] if self._steps else (math.nan,) * 4
            R = (G + Q) / -D if self._steps and D != 0 else math.nan
            if state.epoch > 0 and l not in self.tailoff and R >= self.threshold:
                self.tailoff[l] = state.epoch
            out.update({f"layer{l}/budget_D": D, f"layer{l}/budget_G": G,
                        f"layer{l}/budget_Q": Q, f"layer{l}/budget_measured": measured,
                        f"layer{l}/R": R,
                        f"layer{l}/rho": self._rho[l - 1] / self._steps if self._steps else math.nan,
                        f"layer{l}/tailoff_epoch": self.tailoff.get(l, math.nan)})
        return out
