"""Measured decay against the pure-decay prediction, reference scales and saturation."""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_scalar
from .base import Monitor

SAMPLE_ROWS = 2000  # rows used for data-dependent scales


def _sample(state):
    data = state.evaluation_data if state.evaluation_data is not None else state.train_data
    return data[0][:SAMPLE_ROWS]


def curve_kind(optimizer):
    """Which pure-decay curve ``optimizer`` has: ``"step"``, ``"coupled"`` or None (no curve).

    ``"step"``: decay is a step of its own (None, i.e. Nielsen's SGD, plain SGD
    coupled or not, or any decoupled optimizer); ``"coupled"``: the penalty's
    gradient goes through the optimizer's velocity (momentum, Nesterov);
    None: coupled Adam, whose decay depends on the cost's gradient.

    Examples
    --------
    >>> from wdecay.optim import get_optimizer
    >>> [curve_kind(get_optimizer(k)) for k in ("sgd", "momentum", "adam", "adamw")]
    ['step', 'coupled', None, 'step']
    """
    return "step" if optimizer is None else optimizer.decay_curve


def pure_decay(regularizer, w0, eta, n, t):
    """The weights after ``t`` steps of decay alone from ``w0``.

    A regularizer may give the closed form as ``decay_steps(w, eta, n, t)``
    (L1's is sign(w) max(|w| - t c, 0), c = eta lmbda / n: its sign step stays
    within c of zero once there); otherwise its decay is applied t times.
    """
    closed = getattr(regularizer, "decay_steps", None)
    if closed is not None:
        return closed(w0, eta, n, t)
    w = np.array(w0, dtype=np.float64)
    for _ in range(int(t)):
        regularizer.decay(w, eta, n)
    return w


class DecayPrediction(Monitor):
    """Per-layer RMS against what decay alone would give, and the reference scales.

    The pure-decay curve is the optimizer's own: the weights after t steps
    in which only the penalty acts, from the run's initial weights.

    - Decay as a step of its own (SGD, or any decoupled optimizer such as
      AdamW): each step scales weights by a = 1 - eta lmbda / n under L2, so
      rms_t = a^t rms_0 (the exact factor, not its approximation
      exp(-eta lmbda / m) per epoch of n/m steps); any regularizer without a
      shrink gives its own factor a. Under L1 each step moves every weight
      c = eta lmbda / n towards 0, so the prediction is
      sqrt(mean(max(|w_0| - t c, 0)^2)); other regularizers with a shrink are
      decayed step by step (see :func:`pure_decay`).
    - Coupled momentum or Nesterov: the optimizer is stepped on the penalty's
      gradient alone (the cost's gradient set to 0), velocity included, so
      under L2 the curve's rate approaches 1/(1 - mu) times SGD's per step.
    - Coupled Adam: no curve (``predicted_rms`` and ``rms_ratio`` are NaN).
      Adam divides the penalty's gradient by the running RMS of the *whole*
      gradient, so what decay does in a step depends on the cost's gradient;
      stepping Adam on the penalty alone would move every weight by about eta
      per step whatever lmbda is, which is no run's decay.

    Keys per layer: ``rms``, ``predicted_rms``, ``rms_ratio`` (measured /
    predicted), the reference levels ``ref_inv_sqrt_N`` = 1/sqrt(N) (N all
    weights, as the book's exercise states it), ``ref_inv_sqrt_fan_in`` =
    1/sqrt(n_in) and ``ref_inv_sqrt_input_power`` = 1/sqrt(E||a_in||^2) (a_in
    the layer's input: the weight scale at which a unit's input z = w . a_in
    has unit variance for random signs; it is a reference, not the level decay
    stops at), and ``departure_epoch``, the first epoch where
    |rms_ratio - 1| > ``tolerance`` (NaN before, and always NaN without a
    curve). The tolerance alone cannot tell decay from no change when the
    curve moves less than it per epoch; :mod:`wdecay.summary` also checks
    the norm budget's R.
    """

    def __init__(self, tolerance=0.01):
        self.tolerance = check_scalar(tolerance, "tolerance", low=0, inclusive=False)

    def on_train_begin(self, state):
        # a fresh history is a fresh run; a continued one (fit(history=h)) keeps the start
        if len(state.history) == 0 or not hasattr(self, "initial"):
            self.initial = [np.array(w) for w in state.weights]
            self.start_epoch = state.epoch if len(state.history) == 0 else int(
                state.history.last("epoch", 0))
            self.departure = {}
        self._pure = {}
        self.curve = curve_kind(getattr(state, "optimizer", None))

    def predicted_rms(self, state, layer):
        """The pure-decay curve's RMS of ``layer`` at the current epoch (NaN without a curve)."""
        if self.curve is None:
            return math.nan
        w0 = self.initial[layer - 1]
        t = (state.epoch - self.start_epoch) * state.steps_per_epoch
        reg = state.regularizer
        if self.curve == "coupled":
            return self._coupled_rms(state, layer, w0, t)
        if not reg.has_shrink:  # pure decay is the factor a, t times
            return math.sqrt(float(np.mean(w0 ** 2))) * reg.factor(state.eta, state.n) ** t
        done, w = self._pure.get(layer, (0, w0))
        if getattr(reg, "decay_steps", None) is not None or t < done:
            done, w = 0, w0
        w = pure_decay(reg, w, state.eta, state.n, t - done)
        self._pure[layer] = (t, w)
        return math.sqrt(float(np.mean(w ** 2)))

    def _coupled_rms(self, state, layer, w0, t):
        # the optimizer's chain (fresh state, velocity 0) stepped on a zero cost gradient
        done, w, chain, buffers = self._pure.get(layer, (0, None, None, None))
        if chain is None or t < done:
            done, w = 0, np.array(w0, dtype=np.float64)
            chain = state.optimizer.transform(state.eta, state.regularizer, state.n, mask=[True])
            buffers = chain.init([w])
        zero = [np.zeros_like(w)]
        for _ in range(int(t - done)):
            updates, buffers = chain.update(zero, buffers, [w])
            w += updates[0]
        self._pure[layer] = (t, w, chain, buffers)
        return math.sqrt(float(np.mean(w ** 2)))

    def on_epoch_end(self, state):
        out = {}
        n_weights = sum(w.size for w in state.weights)
        _, acts = state.forward(_sample(state))
        for l, w in enumerate(state.weights, 1):
            rms = math.sqrt(float(np.vdot(w, w)) / w.size)
            predicted = self.predicted_rms(state, l)
            ratio = rms / predicted if predicted > 0 else math.nan
            if l not in self.departure and abs(ratio - 1.0) > self.tolerance:  # NaN: never
                self.departure[l] = state.epoch
            power = float(np.mean(np.sum(acts[l - 1] ** 2, axis=1)))
            out.update({f"layer{l}/rms": rms, f"layer{l}/predicted_rms": predicted,
                        f"layer{l}/rms_ratio": ratio,
                        f"layer{l}/ref_inv_sqrt_N": 1.0 / math.sqrt(n_weights),
                        f"layer{l}/ref_inv_sqrt_fan_in": 1.0 / math.sqrt(w.shape[1]),
                        f"layer{l}/ref_inv_sqrt_input_power":
                            1.0 / math.sqrt(power) if power > 0 else math.inf,
                        f"layer{l}/departure_epoch": self.departure.get(l, math.nan)})
        return out


class Saturation(Monitor):
    """Mean activation derivative of each hidden layer, ``layer{l}/mean_fprime``.

    For sigmoid units sigma'(z) = a (1 - a) is at most 0.25 (at z = 0); with
    N(0, 1) weights on MNIST most units are saturated and it starts far lower.
    It describes the units; it does not mark where decay stops: in the book's
    run the hidden units are still saturated where layer 1 levels off
    (``docs/concepts.rst``). Measured on the evaluation data if given, else on
    the first rows of the training data.
    """

    def on_epoch_end(self, state):
        zs, _ = state.forward(_sample(state))
        return {f"layer{l}/mean_fprime": float(np.mean(state.activation.prime(z)))
                for l, z in enumerate(zs[:-1], 1)}
