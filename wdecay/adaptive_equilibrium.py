"""Where weight decay stops under Adam, AdamW and Lion: what is predicted, and what is refused.

SGD's plateau is a stationary point of C0 + penalty (:mod:`wdecay.equilibrium`).
The adaptive optimizers divide or sign the gradient first:

- **Coupled Adam** (L2 added to the gradient, then normalised): its first
  moment vanishes in expectation where E[g] + (lmbda/n) w = 0, SGD's
  stationary point (Adam's step noise, about eta per weight, is left out).
  Its decay is not exponential: with v = sigma^2 + ((lmbda/n) w)^2 per weight
  (sigma^2 the mini-batch gradient's mean square, :func:`element_moments`),
  pure decay moves each weight by dw/dt = -eta (lmbda/n) w / sqrt(v) per step:
  linearly, eta per step (like L1's soft-threshold), where decay outweighs the
  gradient's noise, exponentially where the noise does
  (:func:`adam_decay_threshold`). sigma is taken at the stationary point: the
  tail-off is reached near it.
- **AdamW and Lion** (decoupled): w <- (1 - eta lmbda/n) w - eta u with a
  normalised step u. Where the gradient's radial part G = -2 eta <W, u>
  averages to 0 (scale-invariant layers), the norm budget D + Q = 0 gives the
  rotational equilibrium (Kosson et al. 2023, arXiv:2305.17212)
  RMS = sqrt(eta n / (2 lmbda)) per weight (:func:`rotational_rms`), reached
  on the timescale 1/(eta lmbda/n) steps (Wang and Aitchison 2024). In a
  network without normalisation G holds the norm instead
  (examples/prediction_table.py measures G/(-D) and the estimate's miss): no
  plateau is predicted, and the reason gives the estimate and the timescale.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_features, check_targets
from .evaluation import chunked_backward


def element_moments(network, X, y, batch_size):
    """Per layer, the full-batch mean gradient g and the mini-batch mean square E[g_B^2], per weight.

    With the per-row gradient g_x = delta_x a_x^T, mean_x g_x^2 =
    (delta^2)^T (a^2) / n, and m rows drawn without replacement from n::

        E[g_B^2] = g^2 + (n - m) / (m (n - 1)) (mean_x g_x^2 - g^2).

    Returns a list of ``(g, mean_sq)`` pairs of arrays shaped like the weights.

    Examples
    --------
    >>> from wdecay import Network
    >>> net = Network([3, 2], seed=0)
    >>> X, y = np.random.default_rng(0).random((6, 3)), np.array([0, 1, 0, 1, 1, 0])
    >>> g, sq = element_moments(net, X, y, batch_size=6)[0]
    >>> bool(np.allclose(sq, g * g))   # the whole data set in every batch: no noise
    True
    """
    X = check_features(X, "X", network.sizes[0])
    _, Y = check_targets(y, len(X), network.sizes[-1])
    n, m = len(X), min(int(batch_size), len(X))
    total = [np.zeros(w.shape) for w in network.weights]
    squares = [np.zeros(w.shape) for w in network.weights]

    def on_layer(layer, delta, a):
        total[layer] += delta.T @ a
        squares[layer] += (delta * delta).T @ (a * a)

    chunked_backward(network, X, Y, on_layer)
    out = []
    for t, s in zip(total, squares):
        g = t / n
        spread = np.maximum(s / n - g * g, 0.0)
        noise = 0.0 if n == 1 else (n - m) / (m * (n - 1)) * spread
        out.append((g, g * g + noise))
    return out


def adam_decay_threshold(w0, sigma, eta, rate, steps):
    """|w| after ``steps`` steps of coupled Adam's pure decay, per weight.

    Each weight follows dw/dt = -eta r w / sqrt(sigma^2 + r^2 w^2) (r = lmbda/n,
    sigma^2 the gradient's mean square, v's part that is not decay's). With
    x = r |w| / sigma this integrates to
    F(x) = sqrt(1 + x^2) + ln(x / (1 + sqrt(1 + x^2))) falling by eta r t / sigma;
    where sigma = 0, |w| falls by eta per step (to 0).

    Examples
    --------
    >>> adam_decay_threshold(np.array([1.0, -0.5]), np.zeros(2), 0.1, 1.0, 3)
    array([0.7, 0.2])
    """
    w0, sigma = np.abs(np.asarray(w0, float)), np.asarray(sigma, float)
    out = np.maximum(w0 - eta * steps, 0.0)
    live = sigma > 0
    if not live.any():
        return out
    s = sigma[live]
    x0 = rate * w0[live] / s

    def F(x):
        root = np.sqrt(1 + x * x)
        return root + np.log(np.maximum(x, 1e-300) / (1 + root))

    target = F(x0) - eta * rate * steps / s
    lo, hi = np.zeros_like(x0), x0.copy()
    for _ in range(80):  # F rises with x: bisection
        mid = 0.5 * (lo + hi)
        below = F(mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out[live] = 0.5 * (lo + hi) * s / rate
    return out


def adam_tailoff_steps(w0, sigma, eta, rate, rms):
    """Steps of coupled Adam's pure decay (:func:`adam_decay_threshold`) to bring RMS(w0) to ``rms``."""
    w0 = np.ravel(w0)
    sigma = np.ravel(sigma)

    def rms_at(t):
        w = adam_decay_threshold(w0, sigma, eta, rate, t)
        return math.sqrt(float(np.vdot(w, w)) / w.size)

    if rms_at(0) <= rms:
        return 0.0
    hi = 1.0
    while rms_at(hi) > rms:
        hi *= 2
        if hi > 1e12:
            return math.inf
    lo = hi / 2 if hi > 1 else 0.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if rms_at(mid) > rms:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def rotational_rms(eta, lmbda_over_n):
    """The rotational-equilibrium RMS per weight of a decoupled normalised step: sqrt(eta / (2 lmbda/n)).

    From the norm budget with G = 0: each step removes 2 eta (lmbda/n) ||W||^2
    and adds Q = eta^2 ||u||^2, with ||u||^2 about one per weight over a
    random walk (Kosson et al. 2023). Valid only where the gradient's radial
    part vanishes (scale-invariant layers).

    Examples
    --------
    >>> round(rotational_rms(0.001, 0.25), 4)
    0.0447
    """
    return math.sqrt(eta / (2.0 * lmbda_over_n))


def decoupled_refusal(name, eta, lmbda_over_n, steps_per_epoch):
    """The one-line reason AdamW or Lion gets no plateau, with the estimate it would use."""
    steps = 1.0 / (eta * lmbda_over_n)
    return (f"no plateau for {name} (decoupled): the rotational-equilibrium estimate "
            f"sqrt(eta n/(2 lmbda)) = {rotational_rms(eta, lmbda_over_n):.4g} assumes the "
            f"gradient's radial part G is 0, but in a layer without normalisation G holds "
            f"the norm (docs/predictions.rst measures both); decay's timescale "
            f"1/(eta lmbda/n) = {steps:.4g} steps ({steps / steps_per_epoch:.3g} epochs)")
