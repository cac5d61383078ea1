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
  (examples/prediction_table.py measures G/(-D) and the estimate's miss).
  AdamW's per-weight fixed point E[u_i] = -(lmbda/n) w_i, with
  E[u_i] = g_i / sqrt(g_i^2 + s_i^2) (:func:`adam_step_mean`), is a stationary
  point of C0 plus a per-weight penalty (:func:`adamw_fixed_point`);
  examples/adamw_fixed_point.py measures it: it holds without a hidden layer
  and near the run's end where Adam's step noise is small, but misses where
  that noise spreads the weights, and from the initial weights it does not
  settle within the training's cost nor find the run's basin. Lion's
  (E[sign(c)] for a Gaussian c, :func:`lion_step_mean`) misses its first
  layer even from the run's end. No plateau is predicted; the reason gives
  the estimate and the timescale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """The one-line reason AdamW or Lion gets no plateau, with the estimate it would use.

    AdamW's per-weight fixed point (:func:`adamw_fixed_point`) is the model
    tried next; examples/adamw_fixed_point.py measures where it fails
    (docs/predictions.rst), and Lion's, E[sign(c)] = -(lmbda/n) w (``step="lion"``).
    """
    steps = 1.0 / (eta * lmbda_over_n)
    fixed = ("the per-weight fixed point E[u] = -(lmbda/n) w misses where Adam's step noise "
             "spreads the weights and, from the initial weights, does not settle within the "
             "training's cost"
             if name == "AdamW" else
             "the per-weight fixed point E[sign(c)] = -(lmbda/n) w misses the first layer "
             "even from the run's end")
    return (f"no plateau for {name} (decoupled): the rotational-equilibrium estimate "
            f"sqrt(eta n/(2 lmbda)) = {rotational_rms(eta, lmbda_over_n):.4g} assumes the "
            f"gradient's radial part G is 0, but in a layer without normalisation G holds "
            f"the norm; {fixed} (docs/predictions.rst measures both); decay's timescale "
            f"1/(eta lmbda/n) = {steps:.4g} steps ({steps / steps_per_epoch:.3g} epochs)")


def adam_step_mean(g, noise_sq):
    """The mean of Adam's normalised step u = m / sqrt(v) per weight: g / sqrt(g^2 + s^2).

    m averages the mini-batch gradients (mean g, variance s^2) and v their
    squares (mean g^2 + s^2, steady over 1/(1 - beta2) steps); u is linear in
    m, so beta1's averaging leaves its mean alone. Where no gradient ever
    reaches the weight (g = s = 0) the step is 0.

    Examples
    --------
    >>> adam_step_mean(np.array([1.0, 1.0, 0.0]), np.array([0.0, 3.0, 0.0]))
    array([1. , 0.5, 0. ])
    """
    g, noise_sq = np.asarray(g, float), np.asarray(noise_sq, float)
    v = g * g + noise_sq
    return np.divide(g, np.sqrt(v), out=np.zeros_like(v), where=v > 0)


#: Lion's c = b1 m + (1 - b1) g_B with m the b2 average of g_B: its noise is
#: k s, k^2 = b1^2 (1 - b2) / (1 + b2) + (1 - b1)^2 (b1 0.9, b2 0.99).
LION_NOISE = math.sqrt(0.9 ** 2 * 0.01 / 1.99 + 0.1 ** 2)


def lion_step_mean(g, noise_sq):
    """The mean of Lion's step sign(c) per weight for a Gaussian c: erf(g / (sqrt(2) k s)).

    k = :data:`LION_NOISE` (Lion's default betas); where s = 0 it is sign(g).

    Examples
    --------
    >>> lion_step_mean(np.array([1.0, 0.0, -2.0]), np.zeros(3))
    array([ 1.,  0., -1.])
    """
    from scipy.special import erf

    g, s = np.asarray(g, float), np.sqrt(np.asarray(noise_sq, float)) * LION_NOISE
    return np.where(s > 0, erf(g / (math.sqrt(2) * np.where(s > 0, s, 1.0))), np.sign(g))


@dataclass
class AdamWFixedPoint:
    """What :func:`adamw_fixed_point` returns (for AdamW or Lion).

    ``network`` holds the fixed point w*; ``fixed_rms`` is each layer's RMS
    there and ``plateau_rms`` adds the spread of Adam's step noise around it;
    ``rounds`` lists ``fixed_rms`` after each re-estimate of the noise;
    ``evaluations`` counts objective evaluations.
    """

    network: object
    fixed_rms: list
    plateau_rms: list
    rounds: list
    evaluations: int


def _noise(network, X, y, batch_size):
    """Per layer ``(g, v, s^2, F)``: the mean gradient, E[g_B^2], the mini-batch noise and mean_x g_x^2."""
    n, m = len(X), min(int(batch_size), len(X))
    out = []
    for g, v in element_moments(network, X, y, m):
        s2 = np.maximum(v - g * g, 0.0)
        per_row = s2 * m * (n - 1) / (n - m) if n > m else np.zeros_like(s2)
        out.append((g, v, s2, per_row + g * g))
    return out


def _adamw_spread(network, X, y, batch_size, eta, rate):
    """Per layer, the mean square Adam's step noise keeps around w* (see :func:`adamw_fixed_point`)."""
    out = []
    for g, v, s2, F in _noise(network, X, y, batch_size):
        live = v > 0
        vv = np.where(live, v, 1.0)
        D = np.where(live, s2 / vv, 0.0)
        k = rate + np.where(live, F * s2 / vv ** 1.5, 0.0)
        out.append(float(np.mean(eta * D / (2 * k))))
    return out


def adamw_fixed_point(network, X, y, *, eta, batch_size, lmbda, max_iter=200, rounds=3,
                      dtype="float32", step="adam"):
    """AdamW's (or Lion's) per-weight fixed point E[u_i] = -(lmbda/n) w_i, and the spread of its step noise.

    With E[u_i] = g_i / sqrt(g_i^2 + s_i^2) (:func:`adam_step_mean`, s_i^2
    the mini-batch noise of :func:`element_moments`) and r = lmbda/n, the
    condition g_i = -r s_i w_i / sqrt(1 - r^2 w_i^2) makes w* a stationary
    point of the full-batch problem

        C0(W) + sum_i (s_i / r) (1 - sqrt(1 - r^2 w_i^2)),   |w_i| < 1/r,

    solved by L-BFGS in w_i = sin(theta_i) / r (no bound to enforce), s held
    fixed and re-estimated at the point found, ``rounds`` times, each with
    ``max_iter`` evaluations. Weights no gradient reaches (all-zero input
    columns) decay to 0. Around w* each weight moves as an
    Ornstein-Uhlenbeck process: steps of eta u with noise s^2/v per step,
    restored at r + F s^2 / v^(3/2) (F = mean_x g_x^2, the empirical Fisher,
    for the cost's curvature), so it spreads by eta (s^2/v) / (2 (r + F s^2 /
    v^(3/2))); ``plateau_rms`` adds that to w*'s mean square. With no
    gradient (s = g = 0 everywhere) this is the rotational estimate's random
    walk without its restoring curvature.

    ``step="lion"``: Lion's u = sign(c), c = b1 m + (1 - b1) g_B (b1 0.9,
    m the b2 = 0.99 average), has E[u_i] = erf(g_i / (sqrt(2) k s_i)) for a
    Gaussian c, k^2 = b1^2 (1 - b2) / (1 + b2) + (1 - b1)^2 (:func:`lion_step_mean`);
    the penalty is then (sqrt(2) k s_i / r) (1 - exp(-erfinv(r w_i)^2)) / sqrt(pi).
    Its spread is not modelled (``plateau_rms`` is ``fixed_rms``).

    Measured (examples/adamw_fixed_point.py, docs/predictions.rst): it is
    the plateau without a hidden layer, and near the run's end where the step
    noise is small, but not where it spreads the weights (AdamW) or in a
    first layer (Lion), and from the initial weights it neither settles
    within the training's cost nor finds the run's basin: the measurement
    behind AdamW's and Lion's refusals, not a prediction.
    """
    from scipy.optimize import minimize

    from ._threads import blas_threads

    if step not in ("adam", "lion"):
        raise ValueError(f"step: expected 'adam' or 'lion', got {step!r}")
    X = check_features(X, "X", network.sizes[0])
    _, Y = check_targets(y, len(X), network.sizes[-1])
    rate, dt, lion = float(lmbda) / len(X), np.dtype(dtype), step == "lion"
    if not rate > 0:
        raise ValueError(f"lmbda: expected > 0 (AdamW's decay), got {lmbda!r}")
    keep = np.flatnonzero(np.any(X != 0, axis=0))
    Xk, Yk = np.ascontiguousarray(X[:, keep], dtype=dt), np.asarray(Y, dtype=dt)
    net = network.copy()
    net.weights = [np.array(w, dtype=float) for w in net.weights]
    net.weights[0][:, np.setdiff1d(np.arange(X.shape[1]), keep)] = 0.0
    history, count = [], 0
    with blas_threads(1):
        for _ in range(int(rounds)):
            s = [np.sqrt(s2) for _, _, s2, _ in _noise(net, X, y, batch_size)]
            s[0] = s[0][:, keep]
            s = [np.asarray(x * (LION_NOISE if lion else 1.0), dtype=dt) for x in s]
            W0 = [net.weights[0][:, keep]] + net.weights[1:]
            theta0 = np.concatenate(
                [np.arcsin(np.clip(rate * w, -0.999, 0.999)).ravel() for w in W0]
                + [b.ravel() for b in net.biases])
            objective = _FixedPointObjective(net, Xk, Yk, s, rate, lion, dt)
            res = minimize(objective, theta0, jac=True, method="L-BFGS-B",
                           options={"maxiter": max_iter, "maxfun": max_iter, "gtol": 1e-12,
                                    "ftol": 1e-15})
            count += res.nfev
            parts = objective.unpack(res.x)
            L = len(W0)
            net.weights[0][:, keep] = np.sin(parts[0]) / rate
            net.weights[1:] = [np.sin(t).astype(float) / rate for t in parts[1:L]]
            net.biases = [np.asarray(b, dtype=float) for b in parts[L:]]
            history.append([_layer_rms(w) for w in net.weights])
        spread = ([0.0] * len(net.weights) if lion
                  else _adamw_spread(net, X, y, batch_size, eta, rate))
    fixed = history[-1]
    plateau = [math.sqrt(f * f + a) for f, a in zip(fixed, spread)]
    return AdamWFixedPoint(net, fixed, plateau, history, count)


class _FixedPointObjective:
    """J = C0 + sum_i phi_i(w_i) over theta (w = sin(theta) / r, then the biases), and its gradient.

    ``Xk`` is X without its all-zero columns (layer 1's weights on them are not
    in theta); ``s`` the per-weight noise, shaped like those weights.
    """

    def __init__(self, net, Xk, Yk, s, rate, lion, dtype):
        self.net, self.X, self.Y, self.s, self.rate, self.lion = net, Xk, Yk, s, rate, lion
        self.dtype, self.L = dtype, len(net.weights)
        self.shapes = ([(net.weights[0].shape[0], Xk.shape[1])]
                       + [w.shape for w in net.weights[1:]] + [b.shape for b in net.biases])
        self.splits = np.cumsum([int(np.prod(sh)) for sh in self.shapes])[:-1]

    def unpack(self, theta):
        parts = np.split(np.asarray(theta, dtype=self.dtype), self.splits)
        return [p.reshape(sh) for p, sh in zip(parts, self.shapes)]

    def __call__(self, theta):
        from scipy.special import erfinv

        from . import passes

        net, n, r = self.net, len(self.X), self.rate
        parts = self.unpack(theta)
        T, B = parts[:self.L], parts[self.L:]
        W = [np.sin(t) / r for t in T]
        zs, acts = passes.forward(W, B, net.activation, net.cost, self.X)
        value = float(np.sum(net.cost.fn(zs[-1], acts[-1], self.Y), dtype=np.float64)) / n
        gw, gb = passes.backward(W, net.activation, net.cost, zs, acts, self.Y)
        grads = []
        for t, g, si in zip(T, gw, self.s):  # dJ/dtheta = (dC0/dw + dphi/dw) cos(t) / r
            if self.lion:  # dphi/dw = sqrt(2) sigma erfinv(r w)
                e = erfinv(np.clip(np.sin(t), -1 + 1e-6, 1 - 1e-6))
                value += float(np.sum(si * (1 - np.exp(-e * e)), dtype=np.float64)
                               ) * math.sqrt(2 / math.pi) / r
                grads.append(((g / n + math.sqrt(2) * si * e) * np.cos(t)).ravel() / r)
            else:  # dphi/dw = s r w / sqrt(1 - r^2 w^2) = s tan(t)
                value += float(np.sum(si * (1 - np.cos(t)), dtype=np.float64)) / r
                grads.append(((g / n) * np.cos(t) + si * np.sin(t)).ravel() / r)
        grads += [(g / n).ravel() for g in gb]
        return value, np.concatenate(grads).astype(np.float64)


def _layer_rms(w):
    return math.sqrt(float(np.vdot(w, w)) / w.size)
