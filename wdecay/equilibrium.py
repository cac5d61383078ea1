"""Where weight decay stops: the regularized stationary point, and when SGD gets there.

While a layer's gradient barely changes its norm, Nielsen's L2 step scales it
by a = 1 - eta lmbda / n per step, so its RMS falls as a^t. That stops where
the full-batch gradient of the unregularized mean cost C0 balances decay
radially, i.e. near a stationary point of

    J(W, b) = C0(W, b) + penalty(W),   grad C0 = -grad penalty.

For each layer, kappa = -<W, grad C0> / <W, grad penalty> (under L2,
-<W, grad C0> / ((lmbda/n) ||W||^2)) measures that balance: about 0 while
decay alone sets the norm, 1 at a stationary point, negative when the gradient
shrinks the layer as well.

:func:`stationary_point` finds such a point (L-BFGS; under L1 a
proximal FISTA solve) and certifies it per layer; :func:`predict_tailoff`
turns it into a prediction, made before training, of each layer's plateau RMS
and of the epoch at which pure decay reaches it:

    t* = ln(RMS_0 / plateau) / (-(ceil(n/m)) ln(1 - eta_eff lmbda / n))   epochs,

eta_eff = eta for SGD, eta / (1 - mu) for coupled momentum and Nesterov;
coupled Adam and the decoupled AdamW and Lion are in
:mod:`wdecay.adaptive_equilibrium`.

Each SGD step also adds the second-order term Q = eta^2 ||g_B||^2 to ||W||^2,
whose noise part (:func:`gradient_noise`) moves SGD off the stationary point:
the prediction moves each layer by SGD's modified objective
(:func:`_noise_scales`), adds the spread the noise keeps against decay's and
the cost's curvature (:func:`_noise_spread`), and refuses beyond the noise
share it was measured at. An unconverged solve is never
a plateau: the layer says "not converged (residual ...)".
"""

from __future__ import annotations

import contextlib
import math
import numbers
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from . import passes
from ._threads import blas_threads
from ._validation import check_features, check_scalar, check_targets
from .evaluation import chunked_backward, chunks
from .network import EVAL_CHUNK
from .regularizers import get_regularizer

#: Fraction of the decay that the gradient's radial pull may reach (|kappa|) and
#: still count as decay-dominated: the norm budget's tail-off threshold R = 0.5.
DOMINATED_KAPPA = 0.5

#: Largest |kappa_0| at which the tail-off formula still applies when the pull
#: has died by the end of the first epoch (|kappa_1| < 0.5). Measured on the
#: MNIST sample (examples/prediction_table.py): ReLU's layer 1 at kappa_0 = -2.7
#: tails off as predicted (26.7 against 27 epochs); tanh's layer 2 at
#: kappa_0 = -31 does not (4.4 against 3), nor do the issue's -11 to -40.
KAPPA0_LIMIT = 10.0

#: Under L1, or with ``noise=False``: when the noise part of the predicted Q/(-D)
#: at the stationary point (without the full-batch gradient's part) reaches this
#: in any layer, SGD's noise holds the weights away from the stationary point and
#: no plateau is predicted (under L2 the noise model applies instead, up to
#: :data:`NOISE_BALANCE_LIMIT`). A
#: choice between the measured cases of docs/exercise.rst ("SGD's noise"): the
#: MNIST sample's shares, whose plateaus lie within 5% of the stationary point,
#: and Fashion-MNIST's at the book's lmbda/n, which do not (both quoted there);
#: where between them prediction starts to fail is not measured.
NOISE_SHARE_LIMIT = 0.5


@dataclass
class StationaryPoint:
    """The result of :func:`stationary_point`.

    Attributes
    ----------
    network : Network
        A copy of the input network, moved to the point found.
    grad_norm : float
        ||grad J|| over all weights and biases there (float64); under L1 the
        subgradient residual, the norm of the smallest subgradient.
    objective : float
        J = C0 + penalty there.
    iterations : int
        Objective evaluations used (L-BFGS's line searches included).
    converged : bool
        True when every layer's residual is at most ``tol``.
    residuals : list of float
        Per layer, the residual compared with ``tol`` (:func:`stationary_point`).
    layer_converged : list of bool
        Per layer, ``residual <= tol``.
    seconds : float
        Wall time of the solve.
    dtype : str
        Precision of the search.
    kappas : list of float
        Per layer, kappa at the point (:func:`kappa`), from the float64
        evaluation that certifies it.
    """

    network: object
    grad_norm: float
    objective: float
    iterations: int
    converged: bool
    residuals: list = field(default_factory=list)
    layer_converged: list = field(default_factory=list)
    seconds: float = 0.0
    dtype: str = "float64"
    kappas: list = field(default_factory=list)


def _full_batch(network, X, Y):
    """Mean cost C0 and its gradients over all rows (chunked, summed cost / n).

    One forward pass per chunk serves the cost and the backward pass.
    """
    n = len(X)
    cost = 0.0
    gw = [np.zeros_like(w) for w in network.weights]
    gb = [np.zeros_like(b) for b in network.biases]
    for i in range(0, n, EVAL_CHUNK):
        Xc, Yc = X[i:i + EVAL_CHUNK], Y[i:i + EVAL_CHUNK]
        zs, acts = network.forward(Xc)
        cost += float(np.sum(network.cost.fn(zs[-1], acts[-1], Yc)))
        w_c, b_c = passes.backward(network.weights, network.activation, network.cost, zs, acts,
                                   Yc)
        for g, c in zip(gw, w_c):
            g += c
        for g, c in zip(gb, b_c):
            g += c
    return cost / n, [g / n for g in gw], [g / n for g in gb]


def mean_cost_gradient(network, X, y):
    """The full-batch gradients of the unregularized mean cost C0 at the network's weights.

    Returns ``(C0, grad_weights, grad_biases)``.

    Examples
    --------
    >>> from wdecay import Network
    >>> net = Network([3, 2], seed=0)
    >>> c0, gw, gb = mean_cost_gradient(net, np.ones((4, 3)), np.array([0, 1, 0, 1]))
    >>> gw[0].shape
    (2, 3)
    """
    X = check_features(X, "X", network.sizes[0])
    _, Y = check_targets(y, len(X), network.sizes[-1])
    return _full_batch(network, X, Y)


def kappa(network, X, y, regularizer, n=None):
    """Per layer, the gradient's radial pull against decay's: kappa = -<W, g> / <W, grad penalty>.

    ``g`` is the full-batch gradient of the unregularized mean cost C0 on
    ``X, y``; ``n`` (default ``len(X)``) is the penalty's training-set size.
    Under L2, <W, grad penalty> = (lmbda/n) ||W||^2. Returns a list of dicts
    with ``kappa``, ``radial_gradient`` = -<W, g> and ``radial_decay`` =
    <W, grad penalty>; kappa is NaN without decay.

    Examples
    --------
    >>> from wdecay import Network, L2
    >>> net = Network([3, 2], seed=0)
    >>> parts = kappa(net, np.ones((4, 3)), np.array([0, 1, 0, 1]), L2(1.0))
    >>> sorted(parts[0])
    ['kappa', 'radial_decay', 'radial_gradient']
    """
    regularizer = get_regularizer(regularizer)
    X = check_features(X, "X", network.sizes[0])
    n = len(X) if n is None else n
    _, gw, _ = mean_cost_gradient(network, X, y)
    out = []
    for w, g in zip(network.weights, gw):
        pull = -float(np.vdot(w, g))
        decay = float(np.vdot(w, regularizer.gradient(w, n)))
        out.append({"kappa": pull / decay if decay > 0 else math.nan,
                    "radial_gradient": pull, "radial_decay": decay})
    return out


def gradient_noise(network, X, y, batch_size):
    """Per layer, the mean squared norm of a mini-batch gradient of the weights and its noise.

    With the per-row gradient g_x = delta_x a_x^T of the weights (so
    ||g_x||^2 = ||delta_x||^2 ||a_x||^2) and the full-batch mean g = grad C0,
    the mean of m rows drawn without replacement from n has::

        E ||g_B - g||^2 = (n - m) / (m (n - 1)) (mean_x ||g_x||^2 - ||g||^2),
        E ||g_B||^2     = ||g||^2 + E ||g_B - g||^2.

    Every batch is taken to have m rows: an epoch's short last batch, when m
    does not divide n, is noisier. Returns a list of dicts with ``mean_sq`` =
    E ||g_B||^2, ``noise_sq`` = E ||g_B - g||^2 and ``full_sq`` = ||g||^2, one
    per layer. The SGD step's
    second-order term is Q = eta^2 ||g_B||^2 (the norm budget's Q = ||u||^2;
    decay's own second-order term is part of D), so its expectation is
    eta^2 ``mean_sq``.

    Examples
    --------
    >>> from wdecay import Network
    >>> net = Network([3, 2], seed=0)
    >>> X, y = np.random.default_rng(0).random((6, 3)), np.array([0, 1, 0, 1, 1, 0])
    >>> part = gradient_noise(net, X, y, batch_size=6)[0]
    >>> part["noise_sq"]   # the whole data set in every batch: no noise
    0.0
    """
    check_scalar(batch_size, "batch_size", kind=numbers.Integral, low=1)
    X = check_features(X, "X", network.sizes[0])
    _, Y = check_targets(y, len(X), network.sizes[-1])
    n, m = len(X), min(int(batch_size), len(X))
    per_row = np.zeros(len(network.weights))
    total = [np.zeros(w.shape) for w in network.weights]

    def on_layer(layer, delta, a):
        per_row[layer] += float(np.dot(np.einsum("ij,ij->i", delta, delta),
                                       np.einsum("ik,ik->i", a, a)))
        total[layer] += delta.T @ a

    chunked_backward(network, X, Y, on_layer)
    out = []
    for sq, g in zip(per_row, total):
        full = float(np.vdot(g, g)) / n ** 2
        spread = max(float(sq) / n - full, 0.0)
        noise = 0.0 if n == 1 else (n - m) / (m * (n - 1)) * spread
        out.append({"mean_sq": full + noise, "noise_sq": noise, "full_sq": full})
    return out


def _input_columns(X, dtype):
    """``(X', columns)``: X in ``dtype`` without its all-zero columns, and the columns kept.

    Layer 1's weights on an all-zero column meet only zeros: they add nothing
    to z and get no gradient from C0, so the products can skip them (MNIST's
    border pixels: 126 of 784 columns on the embedded sample). ``columns`` is
    None when every column is used.
    """
    used = np.flatnonzero(np.any(X != 0, axis=0))
    if len(used) >= 0.95 * X.shape[1]:  # not worth a copy
        return np.ascontiguousarray(X, dtype=dtype), None
    return np.ascontiguousarray(np.asarray(X, dtype=dtype)[:, used]), used


def _summed_cost(cost, z, a, Y):
    """sum_x C_x over the rows, accumulated in float64.

    Cross-entropy as sum max(z, 0) + ln(1 + e^-|z|) - y z: the cost's own
    ln(1 + e^z) - y z (:class:`wdecay.costs.CrossEntropyCost`), in four cheap
    passes instead of ``np.logaddexp`` (six times slower on the MNIST sample's
    outputs, a tenth of a [784, 30, 10] evaluation).
    """
    from .costs import CrossEntropyCost

    if type(cost) is CrossEntropyCost:
        return float(np.sum(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - Y * z,
                            dtype=np.float64))
    return float(np.sum(cost.fn(z, a, Y), dtype=np.float64))


class _Stop(Exception):
    """Raised inside the objective to end the L-BFGS search at a converged point."""


class _OutOfBudget(Exception):
    """Raised inside the objective when the search has used its evaluations."""


class _Objective:
    """J = C0 + penalty and its gradient over the flat parameter vector, one forward pass per chunk.

    Evaluates in ``dtype`` (float32 for the search, float64 for the polish and
    the certificate) and records, per evaluation, each layer's RMS and
    residuals; a call raises :class:`_Stop` once :func:`_certify` accepts the
    point, and :class:`_OutOfBudget` past ``limit`` evaluations.
    """

    def __init__(self, net, inputs, regularizer, dtype, tol, window, progress=None, scales=None,
                 drop=True):
        self.net, self.regularizer, self.dtype = net, regularizer, np.dtype(dtype)
        self.X, self.keep, self.Y = inputs.get(self.dtype, drop)
        self.n, self.tol, self.window, self.progress = len(self.X), tol, window, progress
        self.memo = None  # (theta, smooth, result) of the last evaluation
        self.best = (math.inf, 0)  # smallest certificate residual so far, and when
        params = net.parameters()
        self.shapes = [p.shape for p in params]
        self.splits = np.cumsum([p.size for p in params])[:-1]
        self.nw = len(net.weights)
        self.scales = [1.0] * self.nw if scales is None else [float(s) for s in scales]
        self.rms, self.residuals, self.last, self.g0 = [], [], None, None
        self.limit = math.inf
        self.free = None  # indices L-BFGS moves (:func:`_zero_dead`); None: all

    def chunks(self):
        """``(X, Y)`` per chunk of :data:`EVAL_CHUNK` rows (X without its all-zero columns)."""
        return [(self.X[i:i + EVAL_CHUNK], self.Y[i:i + EVAL_CHUNK])
                for i in range(0, self.n, EVAL_CHUNK)]

    def first_weights(self, w):
        """Layer 1's weights on the columns of X that are not all zero (the rest meet zeros)."""
        return w if self.keep is None else np.ascontiguousarray(w[:, self.keep])

    def unpack(self, theta, dtype=None):
        parts = np.split(np.asarray(theta, dtype=dtype or self.dtype), self.splits)
        ws = [p.reshape(s) for p, s in zip(parts[:self.nw], self.shapes[:self.nw])]
        bs = [p.reshape(s) for p, s in zip(parts[self.nw:], self.shapes[self.nw:])]
        return ws, bs

    def start(self, theta):
        """Record each layer's ||grad penalty|| at ``theta``, the gradient residual's unit."""
        ws, _ = self.unpack(theta)
        self.g0 = [float(np.linalg.norm(s * self.regularizer.gradient(
            np.asarray(w, dtype=np.float64), self.n))) for w, s in zip(ws, self.scales)]

    def evaluate(self, theta, smooth=False):
        """``(J, grad J, per-layer residuals, per-layer RMS)`` at ``theta``.

        ``smooth``: C0 and its gradient alone (the proximal solve's smooth part).
        The layer's gradient residual is the norm of the smallest element of
        the subdifferential of J (under L1, zero weights may take any
        sign(w) in [-1, 1]).
        """
        if (self.memo is not None and self.memo[1] == smooth
                and np.array_equal(self.memo[0], theta)):
            return self.memo[2]
        result = self._evaluate(theta, smooth)
        self.memo = np.array(theta, dtype=np.float64), smooth, result
        return result

    def _evaluate(self, theta, smooth):
        net, reg, n = self.net, self.regularizer, self.n
        ws, bs = self.unpack(theta)
        if self.g0 is None:  # decay's pull at the start
            self.start(theta)
        cost = 0.0
        gw = [np.zeros(w.shape) for w in ws]
        gb = [np.zeros(b.shape) for b in bs]
        fw = [self.first_weights(ws[0])] + ws[1:]
        g1 = gw[0] if self.keep is None else np.zeros(fw[0].shape)
        for Xc, Yc in self.chunks():
            zs, acts = passes.forward(fw, bs, net.activation, net.cost, Xc)
            cost += _summed_cost(net.cost, zs[-1], acts[-1], Yc)
            w_c, b_c = passes.backward(fw, net.activation, net.cost, zs, acts, Yc)
            for g, c in zip([g1] + gw[1:] + gb, w_c + b_c):
                g += c
        if self.keep is not None:  # the all-zero columns' C0 gradient is exactly 0
            gw[0][:, self.keep] = g1
        w64 = [np.asarray(w, dtype=np.float64) for w in ws]
        value = cost / n + (0.0 if smooth else sum(s * reg.penalty([w], n)
                                                     for s, w in zip(self.scales, w64)))
        grads, residuals, rms, gnorms, kappas = [], [], [], [], []
        l1 = _is_l1(reg)
        for g, w, scale in zip(gw, w64, self.scales):
            g /= n
            d = scale * reg.gradient(w, n)
            decay = float(np.vdot(w, d))
            pull = -float(np.vdot(w, g))
            balance = abs(1.0 - pull / decay) if decay > 0 else math.nan
            plain = decay / scale if scale > 0 else float(np.vdot(w, reg.gradient(w, n)))
            kappas.append(pull / plain if plain > 0 else math.nan)  # as :func:`kappa`
            grads.append(g if smooth else g + d)
            sub = g + d
            if l1:  # at w = 0, the subgradient of smallest norm
                zero = w == 0
                sub[zero] = np.sign(g[zero]) * np.maximum(np.abs(g[zero])
                                                          - scale * reg.lmbda / n, 0)
            gnorm = float(np.linalg.norm(sub))
            gnorms.append(gnorm)
            pull = self.g0[len(residuals)]
            residuals.append((balance, gnorm / pull if pull > 0 else
                              (0.0 if gnorm == 0 else math.inf)))
            rms.append(_rms(w))
        grads += [g / n for g in gb]
        self.kappas = kappas
        self.subgradient_norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads[self.nw:])
                                          + sum(r * r for r in gnorms))
        return value, np.concatenate([g.ravel() for g in grads]), residuals, rms

    def __call__(self, theta, smooth=False):
        if len(self.rms) >= self.limit:
            raise _OutOfBudget
        self.last = np.array(theta, dtype=np.float64)
        value, grad, residuals, rms = self.evaluate(theta, smooth)
        self.rms.append(rms)
        self.residuals.append(residuals)
        ok, score = _certify(self.residuals, self.rms, self.tol, self.window)
        if self.progress is not None:
            self.progress(len(self.rms), score)
        if all(ok):
            raise _Stop
        if self.dtype != np.float64:  # float32's rounding may stall the search: polish then
            if score < STALL_GAIN * self.best[0]:
                self.best = (score, len(self.rms))
            elif len(self.rms) - self.best[1] >= STALL_EVALUATIONS:
                raise _OutOfBudget
        return value, grad


def _worst(residuals, rms, window):
    """Per layer, the residual :func:`stationary_point` compares with ``tol``.

    The smaller of the balance residual, max(|1 - kappa|, relative RMS change
    over the last ``window`` evaluations; infinite before ``window`` of them),
    and the layer's ||grad J|| relative to the penalty's gradient at the start.
    """
    balance = np.nan_to_num(np.asarray([r[0] for r in residuals[-1]], dtype=float), nan=0.0)
    shrunk = np.asarray([r[1] for r in residuals[-1]], dtype=float)
    if len(rms) < window:
        drift = np.full(len(balance), math.inf)
    else:
        recent = np.asarray(rms[-window:])
        with np.errstate(divide="ignore", invalid="ignore"):
            drift = np.nan_to_num(np.ptp(recent, axis=0) / recent[-1], nan=math.inf)
    return [float(x) for x in np.fmin(np.fmax(balance, drift), shrunk)]


def _certify(residuals, rms, tol, window):
    """``(per-layer converged, largest residual)`` by :func:`_worst`."""
    worst = _worst(residuals, rms, window)
    return [x <= tol for x in worst], max(worst)


#: Evaluations over which :func:`stationary_point` requires each layer's RMS to have settled.
WINDOW = 10


def stationary_point(network, X, y, regularizer, tol=1e-2, max_iter=1000, *,
                     dtype="float32", window=WINDOW, progress=None, scales=None):
    """A local stationary point of the full-batch objective C0 + penalty, by L-BFGS.

    Starts from the network's current weights and biases and minimises

        J = (1/n) sum_x C_x + penalty(W),   n = len(X),

    with L-BFGS (:func:`_lbfgs`) and analytic gradients (one forward and one
    backward pass per chunk of rows). Layer 1's weights on all-zero columns of
    X meet only zeros: they start at 0, their minimum under L2 and L1, and
    stay there. J is not convex for a network with a hidden layer:
    the result is a *local* stationary point, the one this start leads to.

    The search stops, converged, at the first point where every layer's
    residual is at most ``tol``. The residual is the larger of |1 - kappa|
    (the gradient's radial pull against decay's, 1 at a stationary point,
    :func:`kappa`) and the relative change of the layer's RMS over the last
    ``window`` evaluations; or, if smaller, the layer's ||grad J|| relative to
    the penalty's gradient at the start, ||grad penalty(W_start)|| (a point
    where the weights vanish has no kappa).
    The balance certifies the layer's norm, which is what a plateau
    prediction needs; the gradient's tangential part may still be larger
    (``grad_norm``). The search runs in ``dtype``; with float32 the point is
    then checked in float64 and, if float32's rounding left it above ``tol``,
    polished by float64 L-BFGS within the same ``max_iter`` evaluations.
    Under :class:`~wdecay.L1` the penalty is not differentiable at 0: the
    search is then proximal gradient (FISTA, soft-thresholding the weights)
    instead of L-BFGS, and the gradient residual uses the subgradient of
    smallest norm; ``grad_norm`` is that subgradient residual.

    Parameters
    ----------
    network : Network
        Not modified; the result holds a moved copy.
    X, y : arrays
        The training data; ``len(X)`` is the penalty's n.
    regularizer : Regularizer
    tol : float > 0, default 0.01
        Largest residual accepted in every layer (relative: 0.01 is 1%).
    max_iter : int >= 1, default 1000
        Largest number of objective evaluations (search and polish together).
    dtype : "float32" or "float64"
        Precision of the search.
    window : int >= 2
        Evaluations over which the RMS must have settled.
    progress : callable ``(evaluations, residual)``, optional
        Called after every evaluation.
    scales : list of float, optional
        Multiply layer l's penalty by ``scales[l]`` (default 1: C0 + penalty);
        :func:`predict_tailoff`'s noise balance uses it.

    Returns
    -------
    StationaryPoint

    Examples
    --------
    >>> from wdecay import Network, L2
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((50, 4)), rng.integers(0, 2, 50)
    >>> sp = stationary_point(Network([4, 3, 2], seed=0), X, y, L2(5.0))
    >>> sp.converged, max(sp.residuals) <= 0.01
    (True, True)
    """
    check_scalar(tol, "tol", low=0, inclusive=False)
    check_scalar(max_iter, "max_iter", kind=numbers.Integral, low=1)
    check_scalar(window, "window", kind=numbers.Integral, low=2)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"`dtype` must be 'float32' or 'float64', got {dtype!r}")
    regularizer = get_regularizer(regularizer)
    X = check_features(X, "X", network.sizes[0])
    _, Y = check_targets(y, len(X), network.sizes[-1])
    return _stationary(network, _Inputs(X, Y), regularizer, tol, int(max_iter), dtype,
                       int(window), progress, scales)


class _Inputs:
    """The checked X and one-hot Y, converted once per precision (search and polish).

    ``get(dtype, drop)`` is ``(X, kept columns, Y)`` in ``dtype``; with ``drop``
    X without its all-zero columns (:func:`_input_columns`).
    """

    def __init__(self, X, Y):
        self.X, self.Y, self.cache = X, Y, {}

    def get(self, dtype, drop=True):
        key = (np.dtype(dtype), drop)
        if key not in self.cache:
            X, keep = (_input_columns(self.X, key[0]) if drop
                       else (np.ascontiguousarray(self.X, dtype=key[0]), None))
            self.cache[key] = X, keep, np.ascontiguousarray(self.Y, dtype=key[0])
        return self.cache[key]


def _stationary(network, inputs, regularizer, tol, max_iter, dtype, window, progress, scales):
    """:func:`stationary_point` on checked arguments and prepared ``inputs`` (:class:`_Inputs`)."""
    start = time.perf_counter()
    net = network.copy()
    params = [np.array(p, dtype=np.float64) for p in net.parameters()]
    theta = np.concatenate([p.ravel() for p in params])
    obj = _Objective(net, inputs, regularizer, dtype, tol, window, progress, scales)
    obj.start(theta)
    theta = _zero_dead(obj, theta)
    l1 = _is_l1(regularizer)
    theta, used = _fit_scales(obj, theta, min(SCALE_EVALUATIONS, max_iter // 2),
                              None if l1 else SCALE_FLOOR)
    search = _proximal if l1 else _search
    budget = max_iter - used
    if np.dtype(dtype) != np.float64:  # leave the float64 polish half the budget
        budget = max(budget // 2, 1)
    theta, more, done = search(obj, theta, budget)
    used += more
    final = obj
    if np.dtype(dtype) != np.float64:
        # a float32 search's inputs without zero columns; the check needs no copy of X
        final = _Objective(net, inputs, regularizer, np.float64, tol, window, progress, scales,
                           drop=obj.dtype == np.float64)
        final.rms, final.residuals, final.g0 = list(obj.rms), list(obj.residuals), obj.g0
        final.free = obj.free
        _, _, residuals, rms = final.evaluate(theta)
        final.rms.append(rms)
        final.residuals.append(residuals)
        done = all(_certify(final.residuals, final.rms, tol, window)[0])
        if not done and used < max_iter:  # polish in float64
            final.rms, final.residuals = [], []
            theta, more, done = search(final, theta, max_iter - used)
            used += more
    value, _, residuals, rms = final.evaluate(theta)  # the last evaluation's, if at theta
    final.rms.append(rms)
    final.residuals.append(residuals)
    per_layer, _ = _certify(final.residuals, final.rms, tol, window)
    worst = _worst(final.residuals, final.rms, window)
    ws, bs = final.unpack(theta, np.float64)
    net.weights, net.biases = [w.copy() for w in ws], [b.copy() for b in bs]
    return StationaryPoint(net, final.subgradient_norm, float(value), used,
                           bool(all(per_layer)), worst, per_layer,
                           time.perf_counter() - start, np.dtype(dtype).name, list(final.kappas))


#: A float32 search that has not lowered its largest residual below
#: STALL_GAIN times its best in STALL_EVALUATIONS evaluations hands over to the
#: float64 polish (float32's rounding limits FISTA's progress at small ``tol``).
#: 400: the L1 test case of tests/test_equilibrium.py then converges in 3,728
#: evaluations (the float32 search alone used half its 5,000 without), and the
#: table's "L1, lmbda 5" row in 924 (200: 1,221; no handover: 1,263).
STALL_EVALUATIONS = 400
STALL_GAIN = 0.9

#: Evaluations :func:`stationary_point` spends first on one scale per layer.
SCALE_EVALUATIONS = 20

#: Smallest scale the fit gives a layer. The fit is a start, not the answer: on
#: the MNIST sample it shrinks layer 1 by 0.11-0.20 (examples/prediction_table.py's
#: configurations); on tests/test_report_screenshot.py's three toy classes
#: (large init, lmbda/n = 0.067) by 0.0005, next to W = 0, where every hidden
#: unit is alike and J has a saddle that the search then certified (stationary
#: RMS 0.0099 and 0.0242, against 0.18 and 0.48 from every other start).
#: L-BFGS only: under L1 the fit takes layer 1 to 3e-6 and 1.5e-5 of its start on
#: the sample, and FISTA from there meets the table's targets; from the floor it
#: missed layer 1's plateau by 18% (the "L1, lmbda 5, batch 50" row).
SCALE_FLOOR = 0.03


def _fit_scales(obj, theta, max_eval, floor=SCALE_FLOOR):
    """Minimise J over one scale per layer's weights, the rest fixed; ``(theta, evaluations)``.

    dJ/d ln s_l = <W_l, grad_l J>: at the minimum each layer is in radial balance
    (kappa = 1), where the full solve then starts. Cheap (a few parameters) and
    most of the way: in the decay-dominated phase the weights mostly scale.
    Scaling W_1 by s scales X W_1^T, so layer 1's product (the expensive one)
    is computed once; each evaluation then runs the layers above it and the
    deltas, dC0/d ln s_l = (1/n) sum_x <delta_l, z_l - b_l>, without X.
    No scale goes below ``floor`` (None: no limit).
    """
    if max_eval < 2:
        return theta, 0
    net, reg, n = obj.net, obj.regularizer, obj.n
    ws, bs = obj.unpack(theta, np.float64)
    ends = np.cumsum([w.size for w in ws])
    fixed = theta[ends[-1]:]
    w1 = obj.first_weights(ws[0]).astype(obj.dtype)
    # the rest in float64: cheap here, and float32's rounding stalls the line search
    first = [np.asarray(Xc @ w1.T, dtype=np.float64) for Xc, _ in obj.chunks()]
    targets = [np.asarray(Yc, dtype=np.float64) for _, Yc in obj.chunks()]
    count, L = [0], len(ws)
    last = net.cost.output if L == 1 else net.activation.fn

    def scaled(logs):
        return np.concatenate([(w * math.exp(s)).ravel() for w, s in zip(ws, logs)] + [fixed])

    def fun(logs):
        count[0] += 1
        factors = np.exp(logs)
        sw = [w * f for w, f in zip(ws, factors)]
        cost, grad = 0.0, np.zeros(L)
        for p1, Yc in zip(first, targets):
            z1 = p1 * factors[0] + bs[0]
            zs, acts = [z1] + [None] * (L - 1), [None, last(z1)] + [None] * (L - 1)
            if L > 1:
                passes.forward(sw, bs, net.activation, net.cost, acts[1], zs=zs, acts=acts,
                               start=1)
            cost += _summed_cost(net.cost, zs[-1], acts[-1], Yc)

            def radial(layer, delta, a, zs=zs):  # <delta_l, z_l - b_l>, summed over rows
                grad[layer] += float(np.vdot(delta, zs[layer])
                                     - np.sum(delta, axis=0) @ bs[layer])

            passes.backward(sw, net.activation, net.cost, zs, acts, Yc, on_layer=radial)
        grad /= n
        value = cost / n
        for l, (w, scale) in enumerate(zip(sw, obj.scales)):
            value += scale * reg.penalty([w], n)
            grad[l] += scale * float(np.vdot(w, reg.gradient(w, n)))
        return value, grad

    res = minimize(fun, np.zeros(len(ws)), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_eval, "maxfun": max_eval, "gtol": 1e-8})
    return scaled(res.x if floor is None else np.maximum(res.x, math.log(floor))), count[0]


def _zero_dead(obj, theta):
    """``theta`` with layer 1's weights on all-zero input columns set to 0, their minimum.

    Such a weight meets only zeros: C0 does not depend on it, so J's part in it
    is the penalty alone, separable and smallest at 0 under L2 and L1; every
    stationary point has it there. Other penalties: ``theta`` unchanged.
    """
    if obj.keep is None or obj.regularizer.convex not in ("l2", "l1"):
        return theta
    rows, cols = obj.shapes[0]
    dead = np.ones(cols, dtype=bool)
    dead[obj.keep] = False
    theta = theta.copy()
    theta[:rows * cols].reshape(rows, cols)[:, dead] = 0.0
    mask = np.ones(theta.size, dtype=bool)
    mask[:rows * cols].reshape(rows, cols)[:, dead] = False
    obj.free = np.flatnonzero(mask)
    return theta


def _is_l1(regularizer):
    return regularizer.convex == "l1" and regularizer.lmbda > 0


def _proximal(obj, theta, max_eval):
    """FISTA with backtracking and restarts on C0 + (lmbda/n) ||W||_1; as :func:`_search`.

    Each step is a gradient step on C0 and the soft-threshold
    sign(w) max(|w| - (lmbda/n)/L, 0) of the weights (the proximal map of the
    L1 penalty), with L doubled until the step's quadratic model holds and
    the momentum restarted whenever J rises.
    """
    before = len(obj.rms)
    obj.limit = before + max_eval
    sizes = [int(np.prod(s)) for s in obj.shapes[:obj.nw]]
    lam = np.concatenate([np.full(k, s * obj.regularizer.lmbda / obj.n)
                          for k, s in zip(sizes, obj.scales)])
    nw = sum(sizes)

    def prox(v, step):
        out = v.copy()
        w = out[:nw]
        out[:nw] = np.sign(w) * np.maximum(np.abs(w) - lam * step, 0.0)
        return out

    def total(x, f):
        return f + float(lam @ np.abs(x[:nw]))

    lip = 1.0
    try:
        x = prox(theta, 0.0)
        fx, gx = obj(x, smooth=True)
        y, fy, gy, t = x, fx, gx, 1.0
        while True:
            while True:
                xn = prox(y - gy / lip, 1.0 / lip)
                fn, gn = obj(xn, smooth=True)
                d = xn - y
                if fn <= fy + float(gy @ d) + 0.5 * lip * float(d @ d) + 1e-12 * abs(fy):
                    break
                lip *= 2.0
            if total(xn, fn) > total(x, fx) and t > 1.0:  # restart the momentum
                y, fy, gy, t = x, fx, gx, 1.0
                continue
            tn = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            y = xn + ((t - 1.0) / tn) * (xn - x)
            x, fx, gx, t = xn, fn, gn, tn
            fy, gy = obj(y, smooth=True)
            lip /= 1.25
    except _Stop:
        return obj.last, len(obj.rms) - before, True
    except _OutOfBudget:
        return x, len(obj.rms) - before, False


#: Pairs (s, y) :func:`_lbfgs` keeps. Measured on 12 predictions when it replaced
#: scipy's L-BFGS-B (``benchmarks/predict_speed.py --evaluations [--memory M]``:
#: [784, 30, 10] and [784, 100, 10], lmbda 5 and 10, seeds 0-2): 1,119 evaluations
#: in all with 20, 1,022 with 40, 1,030 with 80, within the cases' own spread
#: (57 to 136 each); 20, as L-BFGS-B had. A gamma per layer or per parameter
#: block in H0 (two-loop) took 1,481 and 1,514: not kept.
LBFGS_MEMORY = 20


def _search(obj, theta, max_eval):
    """L-BFGS (:func:`_lbfgs`) on ``obj`` from ``theta`` for at most ``max_eval`` evaluations.

    Returns ``(theta, evaluations, stopped_converged)``.
    """
    before = len(obj.rms)
    obj.limit = before + max_eval
    free = obj.free
    if free is None:
        fun, x0 = obj, theta
    else:  # the weights :func:`_zero_dead` fixed at 0 stay there: L-BFGS works without them
        full = np.array(theta, dtype=np.float64)

        def fun(u):
            full[free] = u
            value, grad = obj(full)
            return value, grad[free]

        x0 = full[free]
    try:
        x = _lbfgs(fun, x0, obj.dtype, memory=LBFGS_MEMORY)
        if free is None:
            theta = np.asarray(x, dtype=np.float64)
        else:
            theta = full.copy()
            theta[free] = x
        stopped = False
    except _Stop:
        theta, stopped = obj.last, True
    except _OutOfBudget:
        theta, stopped = obj.last, False
    return theta, len(obj.rms) - before, stopped


class _Memory:
    """L-BFGS's last ``size`` pairs (s, y) and its inverse-Hessian product, in compact form.

    H = gamma I + [S  gamma Y] M [S  gamma Y]^T (Byrd, Nocedal and Schnabel 1994),
    gamma = s'y / y'y of the newest pair, M from R = triu(S^T Y), D = diag(S^T Y)
    and Y^T Y, kept up to date with three products per new pair; so a
    direction costs four matrix-vector products with the stored pairs
    (``dtype``: float32 for a float32 search) and small m x m solves.
    """

    def __init__(self, n, size, dtype):
        self.S = np.zeros((size, n), dtype=dtype)
        self.Y = np.zeros((size, n), dtype=dtype)
        self.SY = np.zeros((size, size))  # SY[i, j] = s_i'y_j, slots (not age) order
        self.YY = np.zeros((size, size))
        self.order, self.size, self.gamma = [], size, 1.0

    def add(self, s, y):
        """Store the pair unless s'y <= 2.2e-16 y'y (no positive curvature: skipped)."""
        sy, yy = float(s @ y), float(y @ y)
        if not sy > 2.2e-16 * yy:
            return False
        k = len(self.order)
        slot = k if k < self.size else self.order.pop(0)
        self.S[slot], self.Y[slot] = s, y
        used = self.order + [slot]
        S, Y = self.S[:max(used) + 1], self.Y[:max(used) + 1]
        sy_col, ys_row, yy_col = S @ self.Y[slot], Y @ self.S[slot], Y @ self.Y[slot]
        for i in used:
            self.SY[i, slot] = sy_col[i]
            self.SY[slot, i] = ys_row[i]
            self.YY[i, slot] = self.YY[slot, i] = yy_col[i]
        self.SY[slot, slot], self.YY[slot, slot] = sy, yy
        self.order = used
        self.gamma = sy / yy
        return True

    def direction(self, g):
        """-H g."""
        if not self.order:
            return -g
        o = np.asarray(self.order)
        top = int(o.max()) + 1
        S, Y = self.S[:top], self.Y[:top]
        gc = g.astype(S.dtype, copy=False)
        a, b = (S @ gc).astype(np.float64)[o], (Y @ gc).astype(np.float64)[o]
        sy = self.SY[np.ix_(o, o)]
        R, D = np.triu(sy), np.diag(np.diag(sy))
        gamma = self.gamma
        ra = _solve_triangular(R, a)  # R^-1 a
        p2 = -ra
        p1 = _solve_triangular(R, (D + gamma * self.YY[np.ix_(o, o)]) @ ra - gamma * b,
                               trans=True)
        c1, c2 = np.zeros(top), np.zeros(top)
        c1[o], c2[o] = p1, gamma * p2
        return -(gamma * g + (c1.astype(S.dtype) @ S + c2.astype(S.dtype) @ Y))


def _solve_triangular(R, v, trans=False):
    from scipy.linalg import solve_triangular

    return solve_triangular(R, v, trans="T" if trans else "N", lower=False)


def _lbfgs(fun, x, dtype, memory=20, c1=1e-4):
    """L-BFGS on ``fun(x) -> (value, gradient)`` until ``fun`` raises; returns the last iterate.

    Directions from :class:`_Memory`; step 1 (the first step 1/||g||), halved
    by safeguarded quadratic interpolation until Armijo's condition
    f(x + t d) <= f(x) + c1 t g'd holds. Returns early only when no step
    along a descent direction lowers f.
    """
    x = np.array(x, dtype=np.float64)
    f, g = fun(x)
    mem = _Memory(x.size, memory, np.dtype(dtype))
    t = 1.0 / max(float(np.linalg.norm(g)), 1e-300)  # as L-BFGS-B: the first step 1/||g||
    while True:
        d = mem.direction(g)
        slope = float(g @ d)
        if not slope < 0:  # not a descent direction: forget the pairs
            mem = _Memory(x.size, memory, np.dtype(dtype))
            d, slope = -g, -float(g @ g)
            if not slope < 0:
                return x
        for _ in range(30):
            xn = x + t * d
            fn, gn = fun(xn)
            if fn <= f + c1 * t * slope:
                break
            denom = 2.0 * (fn - f - t * slope)
            q = -slope * t * t / denom if denom > 0 else 0.5 * t
            t = min(max(q, 0.1 * t), 0.5 * t)
        else:
            return x
        mem.add(xn - x, gn - g)
        x, f, g, t = xn, fn, gn, 1.0


@dataclass
class LayerPrediction:
    """One layer's prediction from :func:`predict_tailoff`; also readable as a dict.

    ``plateau_rms`` and ``tailoff_epoch`` are None where the prediction does not
    apply; ``reason`` then says why (it is ``""`` when both are numbers).
    ``stationary_rms`` is the layer's RMS at the stationary point, and
    ``noise_share`` the expected Q/(-D) of an SGD step there,
    eta^2 E||g_B||^2 / ((1 - a^2) ||W||^2) (:func:`gradient_noise`), both
    given whenever there is decay. ``converged`` and ``residual`` are the
    solve's certificate for this layer (:func:`stationary_point`); an
    unconverged layer gets no plateau. ``kappa_epoch1`` is kappa after the
    warm start's first epoch (NaN without one). ``rotational_rms`` is, for
    AdamW and Lion, the rotational-equilibrium estimate their reason quotes
    (:func:`wdecay.adaptive_equilibrium.rotational_rms`).
    """

    layer: int
    rms_initial: float
    plateau_rms: float | None
    tailoff_epoch: float | None
    kappa_initial: float
    radial_gradient: float
    radial_decay: float
    kappa_plateau: float
    decay_dominated: bool
    reason: str = ""
    stationary_rms: float | None = None
    noise_share: float | None = None
    converged: bool | None = None
    residual: float | None = None
    kappa_epoch1: float = math.nan
    noise_spread: float = 0.0
    rotational_rms: float | None = None
    noise_scale: float = 1.0

    def __getitem__(self, key):
        return getattr(self, key)

    def keys(self):
        return list(self.__dataclass_fields__)

    def as_dict(self):
        """The fields as a plain dict."""
        return {k: getattr(self, k) for k in self.keys()}


@dataclass
class TailoffPrediction:
    """What :func:`predict_tailoff` returns: one :class:`LayerPrediction` per layer."""

    layers: list
    lmbda_over_n: float
    steps_per_epoch: int
    per_epoch_factor: float | None
    stationary: StationaryPoint | None = field(default=None, repr=False)
    optimizer: str = "SGD"
    effective_eta: float | None = None
    seconds: float = 0.0

    def __getitem__(self, layer):
        """``prediction[l]`` is layer l (1-based, as in the monitors' keys)."""
        if not 1 <= layer <= len(self.layers):
            raise IndexError(f"layers are numbered 1 to {len(self.layers)} (as in the "
                             f"monitors' keys), got {layer}")
        return self.layers[layer - 1]

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)


def _rms(w):
    return math.sqrt(float(np.vdot(w, w)) / w.size)


def pure_decay_factor(regularizer, eta, n):
    """The per-step factor a if the regularizer's decay only scales weights (L2: 1 - eta lmbda/n).

    Asks the regularizer: None if its step also shrinks (L1, elastic net) or
    does nothing (no decay).

    Examples
    --------
    >>> from wdecay import L1, L2
    >>> pure_decay_factor(L2(5.0), 0.1, 1000)
    0.9995
    >>> pure_decay_factor(L1(5.0), 0.1, 1000) is None
    True
    """
    if regularizer.has_shrink:
        return None
    factor = regularizer.factor(eta, n)
    return None if factor == 1.0 else factor


def predicts_plateau(optimizer):
    """Whether :func:`predict_tailoff` gives ``optimizer`` a plateau (else a one-line reason).

    Plain SGD, coupled momentum and Nesterov, and coupled Adam; read from the
    optimizer's chain, as :func:`predict_tailoff` reads it.

    >>> [predicts_plateau(k) for k in ("sgd", "momentum", "adam", "adamw", "lion")]
    [True, True, True, False, False]
    """
    return _optimizer_rate(optimizer, 1.0)[3] in ("sgd", "adam")


def _optimizer_rate(optimizer, eta):
    """``(name, effective eta, reason, kind)``: the rate an optimizer decays at, or why none.

    Plain SGD (coupled or decoupled: the same step) acts at eta; coupled
    momentum and Nesterov, whose velocity sums a slowly changing gradient into
    g / (1 - mu), at eta / (1 - mu) (their stationary point is SGD's); both are
    ``kind`` "sgd". Coupled Adam (``kind`` "adam") has SGD's stationary point
    and its own decay (:mod:`wdecay.adaptive_equilibrium`). AdamW and Lion
    (``kind`` "decoupled") get no plateau (the reason follows from the run's
    settings, :func:`wdecay.adaptive_equilibrium.decoupled_refusal`); other
    chains get a reason and ``kind`` None.
    """
    from .optim import get_optimizer
    from .transforms import ScaleByAdam, ScaleByLion, Trace

    opt = get_optimizer(optimizer)
    name = type(opt).__name__
    core = opt.core()  # what the optimizer adds between the decay and the learning rate
    if not core:  # plain SGD, coupled or decoupled: the same step
        return name, eta, "", "sgd"
    if len(core) == 1 and type(core[0]) is Trace:
        if not opt.decoupled:
            return name, eta / (1.0 - core[0].momentum), "", "sgd"
        return name, None, (f"no prediction for decoupled {name}: its balance, C0 + "
                            f"(1 - mu) penalty, is not validated"), None
    if len(core) == 1 and type(core[0]) is ScaleByAdam:
        if opt.decoupled:
            return "AdamW", eta, "", "decoupled"
        return name, eta, "", "adam"
    if len(core) == 1 and type(core[0]) is ScaleByLion:
        return name, eta, "", "decoupled"
    return name, None, (f"no prediction for optimizer {name}: only SGD, momentum, Nesterov, "
                        f"Adam, AdamW and Lion"), None


#: Objective evaluations a prediction typically needs (the MNIST sample's seed
#: network: 74 for the stationary point, its only solve; lmbda 10: 57); the
#: progress line's time estimate assumes it.
TYPICAL_EVALUATIONS = 80


class _Progress:
    """Draws one line on ``stream`` (a terminal): evaluations, residual, time spent and left.

    Called with each solve's own evaluation count; :meth:`next_solve` adds
    the finished solve's count to the total. The estimate of the time left
    assumes :data:`TYPICAL_EVALUATIONS` at the current time per evaluation.
    """

    def __init__(self, stream, tol):
        self.stream, self.tol = stream, tol
        self.start, self.last, self.base, self.count = time.perf_counter(), 0.0, 0, 0

    def __call__(self, evaluations, residual, done=False):
        self.count = self.base + evaluations
        now = time.perf_counter()
        if not done and now - self.last < 0.25:
            return
        self.last = now
        spent = now - self.start
        left = spent / max(self.count, 1) * max(TYPICAL_EVALUATIONS - self.count, 0)
        end = f"done in {spent:.1f} s\n" if done else f"{spent:.1f} s, about {left:.0f} s left"
        self.stream.write(f"\rpredicting the plateau: {self.count} evaluations, residual "
                          f"{residual:.2g} (target {self.tol:g}), {end}")
        self.stream.flush()

    def next_solve(self):
        self.base = self.count


def predict_tailoff(network, X, y, *, eta, batch_size, regularizer, optimizer=None, tol=1e-2,
                    max_iter=1000, warm_start_epochs=2, seed=0, dtype="float32",
                    threads=1, progress=None, noise=True):
    """Predict, before training, each layer's plateau RMS and the epoch pure decay reaches it.

    The plateau is the RMS of the layer at a stationary point of C0 + penalty
    (:func:`stationary_point`) found by L-BFGS after a short warm start: two
    epochs of the run's own optimizer on a copy (``warm_start_epochs``), so
    that the solve ends at the stationary point training heads for where the
    objective has several. For the first layer SGD's plateau is usually a
    little higher than the stationary one: its noise adds the second-order
    term Q of the norm budget. A layer whose solve did not converge (residual
    above ``tol``) gets no plateau: ``converged`` is False and ``reason``
    says "not converged (residual ...)".

    The tail-off epoch is when pure decay, at the per-step factor
    a = 1 - eta_eff lmbda / n and ceil(n/m) steps per epoch, brings the RMS to
    the plateau::

        t* = ln(RMS_0 / plateau) / (-ceil(n/m) ln a).

    eta_eff is eta for SGD and eta / (1 - mu) for coupled momentum and
    Nesterov (same stationary point, decay through the velocity). Coupled
    Adam (L2 only) has SGD's noise-free stationary point as its plateau, and
    its normalised decay instead of a^t: each weight moves by
    dw/dt = -eta (lmbda/n) w / sqrt(sigma^2 + ((lmbda/n) w)^2) per step,
    sigma^2 its mini-batch gradient mean square at the stationary point
    (:mod:`wdecay.adaptive_equilibrium`). AdamW and Lion (decoupled) get no
    plateau: the reason quotes the rotational-equilibrium estimate
    sqrt(eta n / (2 lmbda)) (``rotational_rms``), measured to miss where the
    gradient holds the norm (docs/predictions.rst), and the timescale
    1/(eta lmbda/n) steps. Other optimizers get a one-line reason. Under L1 (a proximal solve,
    :func:`stationary_point`) pure decay is a soft-threshold of the initial
    weights instead, by eta_eff (lmbda/n) per step: t* is the threshold that
    brings the RMS to the plateau (:func:`soft_threshold_level`) over
    eta_eff (lmbda/n) ceil(n/m). The formula applies to a layer above
    its plateau whose gradient's radial pull is small against decay, at the
    start (|kappa_0| < 0.5, the norm budget's tail-off threshold) or, when it
    starts at a few (|kappa_0| < :data:`KAPPA0_LIMIT`) and dies within the
    first epoch, after the warm start's first epoch (|kappa_1| < 0.5). Otherwise ``tailoff_epoch`` is None and ``reason``
    says why; the plateau is still given. Without decay there is no plateau.

    The stationary point balances decay against the *full-batch* gradient. An
    SGD step adds the second-order term Q = eta^2 ||g_B||^2 on top, whose
    noise part pushes the norm out; each layer's ``noise_share`` is its
    expected Q/(-D) at the stationary point. With ``noise`` (the default),
    for L2, the plateau accounts for SGD's noise in two parts. Where the
    share reaches :data:`NOISE_SHIFT_SHARE`, the point is moved first: to
    first order in eta SGD descends C0 + penalty + (eta/4) E||g_B - g||^2
    (Smith et al. 2021), and each layer is scaled by the factor
    ``noise_scale`` that minimises it (:func:`_noise_scales`; the first layer
    moves out, the output layer in). Then the spread the noise keeps around
    the point is added, the Ornstein-Uhlenbeck covariance
    (eta c / 2) F (lmbda/n + F)^{-1}, c = (n - m)/(m (n - 1)), with the layer's
    Fisher F in Kronecker form (:func:`_noise_spread`; the added mean square is ``noise_spread``):
    plateau = sqrt((noise_scale RMS_stationary)^2 + noise_spread). A run
    whose noise share reaches :data:`NOISE_BALANCE_LIMIT` gets a reason, no
    number. Under L1 the plateau is the noise-free point, given only while the
    noise share is below :data:`NOISE_SHARE_LIMIT`: on the MNIST sample (L1,
    lmbda 5, share 0.84) the noise model would miss the output layer by 35%
    (examples/noise_shift.py).
    ``stationary_rms`` is the noise-free point's RMS. ``noise=False`` gives
    the noise-free plateau and the older rule: no number where the noise
    part of the share reaches :data:`NOISE_SHARE_LIMIT`.

    Parameters
    ----------
    network : Network
        The untrained network (not modified).
    X, y : arrays
        The training data; n = len(X).
    eta : float > 0
    batch_size : int >= 1
    regularizer : Regularizer
    optimizer : Optimizer or str, optional
        The run's optimizer (:func:`wdecay.optim.get_optimizer`, or an instance
        such as :class:`wdecay.optim.Lion`); default SGD.
    tol, max_iter, dtype
        Passed to :func:`stationary_point`.
    warm_start_epochs : int >= 0, default 2
        Train a copy this many epochs (the run's own optimizer, eta and
        mini-batches, orders from ``seed``) before the L-BFGS solve, and solve
        from there (docs/exercise.rst measures why). The initial RMS, kappa_0
        and the tail-off epoch still refer to ``network`` as given.
    seed : int or None, default 0
        Seed of the warm start's mini-batch orders.
    threads : int or None, default 1
        BLAS threads during the prediction (``benchmarks/predict_speed.py``
        measures 1 against 2); None leaves BLAS's default.
    progress : bool, optional
        Draw a progress line with the time left on stderr; default: when
        stderr is a terminal.
    noise : bool, default True
        Include SGD's noise in the plateau (see above).

    Returns
    -------
    TailoffPrediction
        ``prediction[l].plateau_rms``, ``prediction[l].tailoff_epoch``,
        ``prediction[l]["kappa_initial"]``... for layer l = 1, 2, ...

    Examples
    --------
    >>> from wdecay import Network, L2, NoRegularizer
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((50, 4)), rng.integers(0, 2, 50)
    >>> p = predict_tailoff(Network([4, 3, 2], seed=0), X, y, eta=0.1, batch_size=10,
    ...                     regularizer=NoRegularizer())
    >>> p[1].plateau_rms is None, p[1].reason
    (True, 'no decay in this run')
    """
    check_scalar(eta, "eta", low=0, inclusive=False)
    check_scalar(batch_size, "batch_size", kind=numbers.Integral, low=1)
    check_scalar(warm_start_epochs, "warm_start_epochs", kind=numbers.Integral, low=0)
    if threads is not None:
        check_scalar(threads, "threads", kind=numbers.Integral, low=1)
    regularizer = get_regularizer(regularizer)
    if regularizer.lmbda is None:
        raise ValueError(f"regularizer: predict_tailoff models a penalty with one strength lmbda "
                         f"(L2 or L1); {regularizer!r} declares none")
    X = check_features(X, "X", network.sizes[0])
    began = time.perf_counter()
    context = blas_threads(int(threads)) if threads is not None else contextlib.nullcontext()
    with context:
        out = _predict(network, X, y, eta, int(batch_size), regularizer, optimizer, tol,
                       max_iter, int(warm_start_epochs), seed, dtype, progress, noise)
    out.seconds = time.perf_counter() - began
    return out


def _predict(network, X, y, eta, batch_size, regularizer, optimizer, tol, max_iter,
             warm_start_epochs, seed, dtype, progress, noise):
    n = len(X)
    steps = -(-n // batch_size)
    start = kappa(network, X, y, regularizer)
    name, eta_eff, refusal, kind = _optimizer_rate(optimizer, eta)

    def refuse(reason):
        return [LayerPrediction(l, _rms(w), None, None, s["kappa"], s["radial_gradient"],
                                s["radial_decay"], math.nan, False, reason)
                for l, (w, s) in enumerate(zip(network.weights, start), 1)]

    no_factor = not regularizer.has_shrink and regularizer.factor(eta, n) == 1.0
    if regularizer.lmbda <= 0 or no_factor or all(s["radial_decay"] <= 0 for s in start):
        return TailoffPrediction(refuse("no decay in this run"), 0.0, steps, None, None, name)
    if refusal:
        return TailoffPrediction(refuse(refusal), regularizer.lmbda / n, steps, None, None, name)
    if kind != "sgd":
        from . import adaptive_equilibrium as AE

        if kind == "decoupled":
            out = refuse(AE.decoupled_refusal(name, eta, regularizer.lmbda / n, steps)
                         if pure_decay_factor(regularizer, eta, n) is not None else
                         f"no plateau for {name} (decoupled) under {type(regularizer).__name__}:"
                         f" only L2's rotational estimate exists, and it is not validated")
            for p in out:
                p.rotational_rms = AE.rotational_rms(eta, regularizer.lmbda / n)
            return TailoffPrediction(out, regularizer.lmbda / n, steps, None, None, name, eta)
        if pure_decay_factor(regularizer, eta, n) is None:  # coupled Adam: L2 only
            return TailoffPrediction(refuse(
                f"no prediction for coupled Adam under {type(regularizer).__name__}: its "
                f"normalised decay is modelled (and validated) for L2 only"),
                regularizer.lmbda / n, steps, None, None, name)
        noise = False  # Adam's step noise is not SGD's: the plateau is the stationary point
    begin, k1 = network, [math.nan] * len(network.weights)
    if warm_start_epochs:
        from .monitors.base import Monitor
        from .training import fit

        class FirstEpoch(Monitor):  # kappa after the first epoch, for the tail-off gate
            def on_epoch_end(self, state):
                if state.epoch == 1:
                    probe = network.copy()
                    probe.weights = [np.array(w) for w in state.weights]
                    probe.biases = [np.array(b) for b in state.biases]
                    k1[:] = [s["kappa"] for s in kappa(probe, X, y, regularizer)]

        begin = network.copy()
        fit(begin, X, y, epochs=warm_start_epochs, batch_size=batch_size, eta=eta,
            regularizer=regularizer, seed=seed, optimizer=optimizer, monitors=[FirstEpoch()])
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    draw = _Progress(sys.stderr, tol) if progress else None
    balance = noise and batch_size < n
    sp = stationary_point(begin, X, y, regularizer, tol=tol, max_iter=max_iter, dtype=dtype,
                          progress=draw)
    a = pure_decay_factor(regularizer, eta_eff, n)
    per_epoch = None if a is None else a ** steps
    shares, noise_only = _noise_shares(sp.network, X, y, batch_size, eta_eff, regularizer, n)
    noisiest = max(range(len(shares)),
                   key=lambda i: -math.inf if math.isnan(noise_only[i]) else noise_only[i])
    spread, scale, failure = [0.0] * len(shares), [1.0] * len(shares), ""
    if balance and noise_only[noisiest] >= NOISE_BALANCE_LIMIT:
        failure = (f"noise-dominated: at the stationary point the noise of SGD's steps would "
                   f"add {noise_only[noisiest]:.2g} times as much to ||W||^2 as decay removes "
                   f"in layer {noisiest + 1}; the noise model (shift and spread) is validated "
                   f"only below "
                   f"{NOISE_BALANCE_LIMIT:g} (noise-free stationary RMS "
                   f"{_rms(sp.network.weights[noisiest]):.4g})")
    elif balance and sp.converged and a is not None:  # L1: the noise-free point (see above)
        if noise_only[noisiest] >= NOISE_SHIFT_SHARE:
            scale = _noise_scales(sp.network, X, y, batch_size, eta_eff, regularizer, n)
        moved = sp.network.copy()
        moved.weights = [w * f for w, f in zip(sp.network.weights, scale)]
        moved.biases = [b * f for b, f in zip(sp.network.biases, scale)]
        spread = _noise_spread(moved, X, y, batch_size, eta_eff, regularizer.lmbda / n)
    noisy = (bool(failure) if noise and a is not None
             else noise_only[noisiest] >= NOISE_SHARE_LIMIT)
    if kind == "adam":
        noisy = False  # SGD's noise share does not measure Adam's step noise
    free = point = sp
    if kind == "adam":  # the gradient's noise per weight near the plateau sets Adam's decay
        moments = AE.element_moments(point.network, X, y, batch_size)
    if draw is not None:
        draw.next_solve()
        draw(0, max(point.residuals), done=True)
    layers = []
    for l, (w0, w1, s0, k_end) in enumerate(zip(network.weights, point.network.weights, start,
                                                point.kappas), 1):
        rms0 = _rms(w0)
        plateau = math.sqrt((scale[l - 1] * _rms(w1)) ** 2 + spread[l - 1])
        k0, ok, residual = s0["kappa"], point.layer_converged[l - 1], point.residuals[l - 1]
        small = abs(k0) < DOMINATED_KAPPA or (abs(k0) < KAPPA0_LIMIT
                                              and abs(k1[l - 1]) < DOMINATED_KAPPA)
        dominated = rms0 > plateau and small
        tail, reason = None, ""
        if not ok:
            reason = (f"not converged (residual {residual:.2g} > tol {tol:g} after "
                      f"{point.iterations} evaluations): the point reached, RMS {plateau:.4g}, "
                      "is no plateau")
            plateau = None
        elif noisy and failure:
            reason = failure
            plateau = None
        elif noisy:
            which = "this layer" if noisiest == l - 1 else f"layer {noisiest + 1}"
            reason = (f"noise-dominated: at the stationary point the noise of SGD's steps "
                      f"would add {noise_only[noisiest]:.2g} times as much to ||W||^2 as decay "
                      f"removes in {which} (limit {NOISE_SHARE_LIMIT:g}); SGD settles away "
                      f"from the stationary point (stationary RMS {plateau:.4g})")
            plateau = None
        elif rms0 <= plateau:
            reason = (f"starts below its plateau ({rms0:.4g} <= {plateau:.4g}): "
                      "the gradient makes it grow; decay never dominates")
        elif not small:
            push = "shrinks" if k0 < 0 else "grows"
            after = "" if math.isnan(k1[l - 1]) else f", {k1[l - 1]:.3g} after one epoch"
            reason = (f"never decay-dominated: the gradient's radial pull stays large against "
                      f"decay's (kappa = {k0:.3g} at the start{after}; the gradient {push} it)")
        elif kind == "adam":  # each weight: dw/dt = -eta r w / sqrt(sigma^2 + r^2 w^2)
            sigma = np.sqrt(moments[l - 1][1])
            tail = AE.adam_tailoff_steps(w0, sigma, eta, regularizer.lmbda / n, plateau) / steps
        elif a is not None:
            tail = math.log(rms0 / plateau) / (-steps * math.log(a))
        elif _is_l1(regularizer):
            c = eta_eff * regularizer.lmbda / n  # each step moves every weight c towards 0
            tail = soft_threshold_level(w0, plateau) / (c * steps)
        else:
            reason = "no closed form: this regularizer's step is neither a scaling nor L1's"
        layers.append(LayerPrediction(l, rms0, plateau, tail, k0, s0["radial_gradient"],
                                      s0["radial_decay"], k_end, dominated, reason,
                                      _rms(free.network.weights[l - 1]), shares[l - 1], ok,
                                      residual, k1[l - 1], spread[l - 1],
                                      noise_scale=scale[l - 1]))
    return TailoffPrediction(layers, regularizer.lmbda / n, steps, per_epoch, free, name,
                             eta_eff)


#: Largest noise share (noise part of Q/(-D) at the noise-free stationary point,
#: any layer) at which the noise model (:func:`_noise_scales`, then
#: :func:`_noise_spread`) gives a plateau. Measured (examples/prediction_table.py):
#: it holds to 4.0% up to Fashion-MNIST 50k's 2.45 at the book's lmbda/n; beyond
#: 2.5 it is not measured.
NOISE_BALANCE_LIMIT = 2.5

#: Noise share (as for :data:`NOISE_BALANCE_LIMIT`) from which the prediction
#: also moves the stationary point by SGD's noise (:func:`_noise_scales`, about
#: a fifth of a prediction's time on the MNIST sample). Below it the move is
#: skipped: on the MNIST sample's rows at shares up to 0.11 the plateau is within
#: 2.6% without it (docs/predictions.rst); on a 5-input, 120-row problem the
#: output layer misses by 12% at shares 0.11 and 0.17 without it, by 3-6% with
#: it (examples/noise_shift.py --toy, which also shows a miss of 32% at 0.57).
NOISE_SHIFT_SHARE = 0.2

def _noise_spread(network, X, y, batch_size, eta, rate):
    """Per layer, the mean square SGD's noise adds to the weights around the point it hovers at.

    Near the point the weights follow an Ornstein-Uhlenbeck process: the
    mini-batch noise, covariance c F (c = (n - m) / (m (n - 1)), F the
    empirical Fisher mean_x g_x g_x^T), kicks them, the curvature r + F
    (decay's r = lmbda/n plus the Fisher, the Gauss-Newton curvature of
    cross-entropy) pulls them back, and the covariance settles at
    (eta c / 2) F (r + F)^{-1}. F is taken per layer in Kronecker form,
    F ~ A (x) G with A = mean_x [a, 1][a, 1]^T (the layer's inputs and its
    bias) and G = mean_x delta delta^T (K-FAC's factors), so that its
    eigenvalues are the products alpha_j gamma_i of theirs and, N_l the
    layer's weights::

        spread_l = (eta c / (2 N_l)) sum_ij alpha_j gamma_i / (r + alpha_j gamma_i).

    Each direction the cost holds firmly (alpha gamma >> r) adds eta c / 2,
    a flat one nothing. Per weight instead (F's diagonal) every pixel would
    count as a direction of its own: on correlated inputs that is 2.7 to 3.2
    times the spread (the MNIST sample's L2 rows) and 5.7 times (Fashion-MNIST,
    4,000 rows; examples/noise_shift.py). The plateau is
    sqrt(RMS^2 + spread_l) (RMS of the stationary point, moved by
    :func:`_noise_scales` when the noise share reaches :data:`NOISE_SHIFT_SHARE`).
    """
    n, m = len(X), min(int(batch_size), len(X))
    if n <= m:
        return [0.0] * len(network.weights)
    X = check_features(X, "X", network.sizes[0])
    _, Y = check_targets(y, n, network.sizes[-1])
    # an all-zero input column adds a zero row and column to layer 1's A, so a zero
    # eigenvalue and nothing to the sum: A is taken over the live columns only
    live = np.flatnonzero(np.any(X != 0, axis=0))
    widths = [len(live)] + [w.shape[1] for w in network.weights[1:]]
    inputs = [np.zeros((k + 1,) * 2) for k in widths]
    outputs = [np.zeros((w.shape[0],) * 2) for w in network.weights]

    def on_layer(layer, delta, a):
        a = np.asarray(a[:, live] if layer == 0 else a, dtype=np.float64)
        inputs[layer][:-1, :-1] += a.T @ a
        column = a.sum(0)
        inputs[layer][:-1, -1] += column
        inputs[layer][-1, :-1] += column
        inputs[layer][-1, -1] += len(a)
        outputs[layer] += delta.T @ delta

    chunked_backward(network, X, Y, on_layer)
    c = (n - m) / (m * (n - 1))
    out = []
    for w, A, G in zip(network.weights, inputs, outputs):
        lam = np.clip(np.outer(np.linalg.eigvalsh(G / n), np.linalg.eigvalsh(A / n)), 0.0, None)
        out.append(float(eta * c / 2.0 * np.sum(lam / (rate + lam)) / w.size))
    return out


def _noise_objective(weights, biases, hidden, cost, X, Y, rate, coef):
    """SGD's modified objective Phi = C0 + (r/2)||W||^2 + coef mean_x ||g_x||^2, and its gradient.

    g_x is row x's gradient of C_x in every weight and bias,
    ||g_x||^2 = sum_l ||delta_l||^2 (||a_l||^2 + 1). Its gradient
    2 coef mean_x H_x g_x takes two more passes: central differences along each
    row's own gradient, which moves layer l by eps delta_l a_l^T (rank one per
    row, so z and the backward pass shift by per-row dot products). Returns
    ``(Phi, grad_weights, grad_biases)``.
    """
    n, L = len(X), len(weights)
    value, total = 0.0, 0.0
    gw = [np.zeros(w.shape) for w in weights]
    gb = [np.zeros(b.shape) for b in biases]
    hw = [np.zeros(w.shape) for w in weights]
    hb = [np.zeros(b.shape) for b in biases]
    for c in chunks(n):
        x, y = X[c], Y[c]
        zs, acts = passes.forward(weights, biases, hidden, cost, x)
        deltas = [None] * L

        def keep(layer, delta, a):
            deltas[layer] = delta.copy()
            gw[layer] += delta.T @ a
            gb[layer] += delta.sum(0)

        passes.backward(weights, hidden, cost, zs, acts, y, on_layer=keep)
        value += float(np.sum(cost.fn(zs[-1], acts[-1], y)))
        q = sum(np.einsum("ij,ij->i", d, d) * (np.einsum("ij,ij->i", a, a) + 1.0)
                for d, a in zip(deltas, acts[:-1]))
        total += float(q.sum())
        eps = 1e-5 / max(1.0, float(np.sqrt(np.max(q))))
        for sign in (1.0, -1.0):
            step, a, below_acts = sign * eps, x, []
            for l in range(L):
                below_acts.append(a)
                z = a @ weights[l].T + biases[l]
                z += step * deltas[l] * (np.einsum("ij,ij->i", acts[l], a) + 1.0)[:, None]
                a = cost.output(z) if l == L - 1 else hidden.fn(z)
            d = cost.delta(z, a, y)
            for l in range(L - 1, -1, -1):
                hw[l] += (sign / (2 * eps)) * (d.T @ below_acts[l])
                hb[l] += (sign / (2 * eps)) * d.sum(0)
                if l:
                    below = d @ weights[l]
                    below += step * acts[l] * np.einsum("ij,ij->i", deltas[l], d)[:, None]
                    hidden.multiply_prime(below, below_acts[l])
                    d = below
    value = value / n + 0.5 * rate * sum(float(np.vdot(w, w)) for w in weights) + coef * total / n
    grad_w = [g / n + rate * w + 2 * coef * h / n for g, w, h in zip(gw, weights, hw)]
    grad_b = [g / n + 2 * coef * h / n for g, h in zip(gb, hb)]
    return value, grad_w, grad_b


#: Most objective evaluations of the scale fit (:func:`_noise_scales`); it takes 5-8.
NOISE_SCALE_EVALUATIONS = 30


def _noise_scales(network, X, y, batch_size, eta, regularizer, n=None):
    """Per layer, the factor by which SGD's noise moves the stationary point's weights.

    SGD's iterates follow, to first order in eta, gradient flow on the modified
    objective (Smith, Dherin, Barrett and De 2021, "On the origin of implicit
    regularization in stochastic gradient descent")::

        Phi = J + (eta/4) E||g_B - g||^2,   E||g_B - g||^2 ~ (n - m)/(m (n - 1)) mean_x ||g_x||^2,

    J = C0 + penalty(W) (the full-batch part of the correction and the small
    -||g||^2 are left out: both vanish at the stationary point). On the MNIST
    and Fashion-MNIST networks the noise term pushes the first layer out (its
    units saturate, which quietens the gradients) and the output layer in. Rather than
    solve Phi's own stationary point (its flat directions took hundreds of
    evaluations), this minimises Phi over one factor e^{s_l} per layer that
    scales the stationary point's weights and biases (L-BFGS over the s_l, 5-8
    evaluations of three passes each; ``n`` is the penalty's, default
    ``len(X)``). Returns the factors e^{s_l}; 1 for a full batch.
    """
    rows, m = len(X), min(int(batch_size), len(X))
    n = rows if n is None else n
    if rows <= m:
        return [1.0] * len(network.weights)
    regularizer = get_regularizer(regularizer)
    coef = 0.25 * eta * (rows - m) / (m * (rows - 1))
    _, Y = check_targets(y, rows, network.sizes[-1])
    W = [np.asarray(w, dtype=np.float64) for w in network.weights]
    B = [np.asarray(b, dtype=np.float64) for b in network.biases]
    X = np.asarray(X, dtype=np.float64)

    def fun(logs):
        ws = [w * math.exp(s) for w, s in zip(W, logs)]
        bs = [b * math.exp(s) for b, s in zip(B, logs)]
        value, gw, gb = _noise_objective(ws, bs, network.activation, network.cost, X, Y,
                                         0.0, coef)
        value += regularizer.penalty(ws, n)
        return value, np.array([float(np.vdot(w, g + regularizer.gradient(w, n)) + np.vdot(b, h))
                                for w, g, b, h in zip(ws, gw, bs, gb)])

    res = minimize(fun, np.zeros(len(W)), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-9, "maxfun": NOISE_SCALE_EVALUATIONS})
    return [math.exp(float(s)) for s in res.x]


def soft_threshold_level(w, rms):
    """The threshold tau at which the soft-threshold sign(w) max(|w| - tau, 0) has RMS ``rms``.

    L1's pure decay moves every weight by c = eta lmbda / n towards zero per
    step, so after t steps the weights are the soft-threshold of the initial
    ones at tau = t c: the tail-off comes after tau / (c ceil(n/m)) epochs.
    Returns 0 when ``rms`` is at least the RMS of ``w``.

    Examples
    --------
    >>> round(soft_threshold_level(np.array([1.0, -3.0]), np.sqrt(0.5)), 6)  # [0, -1]
    2.0
    """
    a = np.sort(np.abs(np.ravel(w)))[::-1]
    target = rms * rms * a.size
    if target >= float(np.vdot(a, a)):
        return 0.0
    lo, hi = 0.0, float(a[0])
    for _ in range(100):  # bisection: sum max(|w| - tau, 0)^2 falls with tau
        mid = 0.5 * (lo + hi)
        above = a[a > mid] - mid
        if float(np.vdot(above, above)) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _noise_shares(network, X, y, batch_size, eta, regularizer, n):
    """Per layer, the expected Q/(-D) of one SGD step, and the part of it that is noise.

    Q/(-D) = eta^2 E||g_B||^2 / -D, and its noise part eta^2 E||g_B - g||^2 / -D:
    at a stationary point the full-batch part of Q cancels against decay's
    second-order term, so only the noise part moves SGD off the point.
    -D = (1 - a^2) ||W||^2 for a factor a; otherwise its first-order value
    2 eta <W, grad penalty>.
    """
    a = pure_decay_factor(regularizer, eta, n)
    shares, noise = [], []
    for w, part in zip(network.weights, gradient_noise(network, X, y, batch_size)):
        shrink = ((1.0 - a * a) * float(np.vdot(w, w)) if a is not None
                  else 2.0 * eta * float(np.vdot(w, regularizer.gradient(w, n))))
        ok = shrink > 0
        shares.append(eta * eta * part["mean_sq"] / shrink if ok else math.nan)
        noise.append(eta * eta * part["noise_sq"] / shrink if ok else math.nan)
    return shares, noise
