"""How far each step turns the weights, and the sizes and direction of its two parts."""

from __future__ import annotations

import math

import numpy as np

from .base import Monitor, signed_gradient_update, squared_norms

KEYS = ("angle", "angle_rms", "grad_step", "decay_step", "grad_cos", "grad_abs_cos")


def step_angle(before, after):
    """The angle in radians between two weight arrays, stable for tiny angles.

    With unit vectors u = W_t / ||W_t|| and v = W_{t+1} / ||W_{t+1}||::

        angle = arccos(<u, v>) = 2 arcsin(||u - v|| / 2).

    The arccos form loses half the digits near 0 (cos is flat there); the
    arcsin form does not. NaN if either array is all zeros.

    Examples
    --------
    >>> round(step_angle(np.array([1.0, 0.0]), np.array([1.0, 1.0])), 12) == round(np.pi / 4, 12)
    True
    """
    return _chord_angle(before, after, float(np.vdot(before, before)),
                        float(np.vdot(after, after)))


def _chord_angle(before, after, bb, aa, out=None):
    """:func:`step_angle` given bb = ||before||^2 and aa = ||after||^2, using ``out`` as scratch.

    ||u - v|| = ||(||W_t|| / ||W_{t+1}||) W_{t+1} - W_t|| / ||W_t||: one scaled copy
    and one subtraction, element by element as in u - v (no cancellation of norms).
    """
    if bb == 0.0 or aa == 0.0:
        return math.nan
    nb = math.sqrt(bb)
    diff = np.multiply(after, nb / math.sqrt(aa), out=out)
    diff -= before
    chord = math.sqrt(float(np.vdot(diff, diff))) / nb
    return 2.0 * math.asin(min(1.0, chord / 2.0))


class AngularUpdate(Monitor):
    """Per layer and epoch: the mean angle each step turns W, and its two parts.

    A step maps W_t -> W_{t+1} = W_t + d + u, with d the decay part and u the
    gradient part (``state.decay_update`` and ``state.gradient_update``; for
    SGD with L2, d = -(eta lmbda / n) W_t and u = -eta g, g the mini-batch mean
    gradient of the unregularized cost). Per layer the monitor records the
    epoch's means over its steps of

    * ``angle`` = arccos(<W_t, W_{t+1}> / (||W_t|| ||W_{t+1}||)), in radians,
      computed as 2 arcsin(||u - v|| / 2) of the unit vectors (see
      :func:`step_angle`), and ``angle_rms``, the root mean square of the same
      angles;
    * ``grad_step`` = ||u|| and ``decay_step`` = ||d||;
    * ``grad_cos`` = <W_t, u> / (||W_t|| ||u||), the cosine between the weights
      and the gradient step: positive when the gradient step points outwards
      (grows ||W||), near 0 when it only turns W; and ``grad_abs_cos``, the mean
      of its absolute value, which a sign that flips from step to step cannot
      average away.

    Keys ``layer{l}/<name>``; NaN at epoch 0 (no steps yet).

    For comparison: a scale-invariant layer (one whose loss does not change
    when W is scaled, as with normalization) has a gradient orthogonal to W, so
    under SGD with L2 its norm settles where the step's second-order growth Q
    balances decay's shrink -D (see :class:`~wdecay.monitors.NormBudget`), the
    "rotational equilibrium", turning W by about sqrt(2 eta lmbda / n) per
    step. In general decay only scales W and the gradient step's part
    orthogonal to W turns it, so for small steps the square of ``angle_rms``
    divided by 2 eta lmbda / n is about Q / (-D) over the epoch: 1 at
    rotational equilibrium, less where the gradient's radial pull G supplies
    part of the balance.

    Per-batch: it reads the weights before each step (a copy per step) and
    costs a few norms per layer and step.

    Examples
    --------
    >>> import wdecay
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 4)), rng.integers(0, 2, 30)
    >>> h = wdecay.Network([4, 3, 2], seed=0).fit(X, y, epochs=1, batch_size=10, eta=0.5,
    ...     regularizer=wdecay.L2(5.0), monitors=[AngularUpdate()], seed=0)
    >>> bool(h["layer1/angle"][1] > 0)
    True
    """

    def on_epoch_begin(self, state):
        self._sums = [[0.0] * len(KEYS) for _ in state.weights]
        self._steps = 0
        self._scratch = [np.empty_like(w) for w in state.weights]  # for the angle's chord

    def on_batch_end(self, state):
        # per layer: <W_t, u>, ||d||^2 and ||W_t||^2; ||W_{t+1}||^2 and ||u||^2 shared with
        # NormBudget (squared_norms, computed once per step); for the angle one scaled
        # copy, one subtraction and one dot product in a reused buffer; u = sign * us
        # (no copy of u)
        us, sign = signed_gradient_update(state)
        sqrt, vdot = math.sqrt, np.vdot
        for before, after, d, us_l, bb, aa, uu, sums, out in zip(
                state.weights_before, state.weights, state.decay_update, us,
                squared_norms(state, "before", state.weights_before),
                squared_norms(state, "after", state.weights), squared_norms(state, "u", us),
                self._sums, self._scratch):
            wn, un = sqrt(bb), sqrt(uu)
            cos = (sign * float(vdot(before, us_l)) / (wn * un) if wn > 0 and un > 0
                   else math.nan)
            angle = _chord_angle(before, after, bb, aa, out)
            for i, v in enumerate((angle, angle * angle, un, sqrt(float(vdot(d, d))), cos,
                                   abs(cos))):
                sums[i] += v
        self._steps += 1

    def on_epoch_end(self, state):
        steps = getattr(self, "_steps", 0)
        means = (np.array(self._sums) / steps if steps else
                 np.full((len(state.weights), len(KEYS)), math.nan))
        means[:, 1] = np.sqrt(means[:, 1])  # the mean of angle^2 -> its root
        return {f"layer{l}/{key}": float(v) for l, row in enumerate(means, 1)
                for key, v in zip(KEYS, row)}
