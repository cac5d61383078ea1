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

:func:`stationary_point` finds such a point with scipy's L-BFGS and
:func:`predict_tailoff` turns it into a prediction, made before training, of
each layer's plateau RMS and of the epoch at which pure decay reaches it:

    t* = ln(RMS_0 / plateau) / (-(ceil(n/m)) ln(1 - eta lmbda / n))   epochs.

That holds while SGD's noise is small next to decay. Each step also adds the
second-order term Q = eta^2 ||g_B||^2 to ||W||^2; :func:`gradient_noise` and
the prediction's ``noise_share`` estimate Q / (-D) at the stationary point,
before training. Where it is large (:data:`NOISE_SHARE_LIMIT`), noise and not
the gradient balances decay, SGD settles elsewhere, and the prediction says so
instead of giving a number.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from ._validation import check_features, check_scalar, check_targets
from . import passes
from .network import EVAL_CHUNK
from .regularizers import get_regularizer

#: Fraction of the decay that the gradient's radial pull may reach (|kappa|) and
#: still count as decay-dominated: the norm budget's tail-off threshold R = 0.5.
DOMINATED_KAPPA = 0.5

#: When the noise part of the predicted Q/(-D) at the stationary point (without
#: the full-batch gradient's part) reaches this in any layer, SGD's noise holds
#: the weights away from the stationary point and no plateau is predicted. A
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
        A copy of the input network, moved to the stationary point.
    grad_norm : float
        ||grad J|| over all weights and biases at that point.
    objective : float
        J = C0 + penalty there.
    iterations : int
        L-BFGS iterations used.
    converged : bool
        True if ``grad_norm <= tol``.
    """

    network: object
    grad_norm: float
    objective: float
    iterations: int
    converged: bool


def _full_batch(network, X, Y):
    """Mean cost C0 and its gradients over all rows (chunked, summed cost / n)."""
    n = len(X)
    cost = 0.0
    gw = [np.zeros_like(w) for w in network.weights]
    gb = [np.zeros_like(b) for b in network.biases]
    for i in range(0, n, EVAL_CHUNK):
        Xc, Yc = X[i:i + EVAL_CHUNK], Y[i:i + EVAL_CHUNK]
        zs, acts = network.forward(Xc)
        cost += float(np.sum(network.cost.fn(zs[-1], acts[-1], Yc)))
        w_c, b_c = network.backprop(Xc, Yc)
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
        per_row[layer] += float(np.einsum("ij,ij,ik,ik->", delta, delta, a, a))
        total[layer] += delta.T @ a

    for i in range(0, n, EVAL_CHUNK):
        zs, acts = passes.forward(network.weights, network.biases, network.activation,
                                  network.cost, X[i:i + EVAL_CHUNK])
        passes.backward(network.weights, network.activation, network.cost, zs, acts,
                        Y[i:i + EVAL_CHUNK], on_layer=on_layer)
    out = []
    for sq, g in zip(per_row, total):
        full = float(np.vdot(g, g)) / n ** 2
        spread = max(float(sq) / n - full, 0.0)
        noise = 0.0 if n == 1 else (n - m) / (m * (n - 1)) * spread
        out.append({"mean_sq": full + noise, "noise_sq": noise, "full_sq": full})
    return out


def stationary_point(network, X, y, regularizer, tol=2e-3, max_iter=500):
    """A local stationary point of the full-batch objective C0 + penalty, by L-BFGS.

    Starts from the network's current weights and biases and minimises

        J = (1/n) sum_x C_x + penalty(W),   n = len(X),

    with scipy's L-BFGS-B and analytic gradients (``Network.backprop`` divided
    by n, plus ``regularizer.gradient``). J is not convex for a network with a
    hidden layer: the result is a *local* stationary point, the one this start
    leads to, not a global minimum. Under L1 the penalty is not differentiable
    at 0 and the point is only approximate.

    Parameters
    ----------
    network : Network
        Not modified; the result holds a moved copy.
    X, y : arrays
        The training data; ``len(X)`` is the penalty's n.
    regularizer : Regularizer
    tol : float > 0
        Stop when the gradient norm (all parameters) falls below ``tol``.
    max_iter : int

    Returns
    -------
    StationaryPoint

    Examples
    --------
    >>> from wdecay import Network, L2
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((50, 4)), rng.integers(0, 2, 50)
    >>> sp = stationary_point(Network([4, 3, 2], seed=0), X, y, L2(5.0))
    >>> sp.converged
    True
    """
    check_scalar(tol, "tol", low=0, inclusive=False)
    regularizer = get_regularizer(regularizer)
    X = check_features(X, "X", network.sizes[0])
    _, Y = check_targets(y, len(X), network.sizes[-1])
    n = len(X)
    net = network.copy()
    net.weights = [np.array(w, dtype=np.float64) for w in net.weights]
    net.biases = [np.array(b, dtype=np.float64) for b in net.biases]
    params = net.parameters()
    shapes = [p.shape for p in params]
    splits = np.cumsum([p.size for p in params])[:-1]
    nw = len(net.weights)

    def unpack(theta):
        parts = np.split(theta, splits)
        net.weights = [p.reshape(s) for p, s in zip(parts[:nw], shapes[:nw])]
        net.biases = [p.reshape(s) for p, s in zip(parts[nw:], shapes[nw:])]

    def fun(theta):
        unpack(theta)
        c0, gw, gb = _full_batch(net, X, Y)
        value = c0 + regularizer.penalty(net.weights, n)
        grads = [g + regularizer.gradient(w, n) for g, w in zip(gw, net.weights)] + gb
        return value, np.concatenate([g.ravel() for g in grads])

    theta0 = np.concatenate([p.ravel() for p in params])
    res = minimize(fun, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol * 1e-3, "ftol": 0.0,
                            "maxcor": 20})
    value, grad = fun(res.x)
    unpack(res.x.copy())
    gnorm = float(np.linalg.norm(grad))
    return StationaryPoint(net, gnorm, float(value), int(res.nit), gnorm <= tol)


@dataclass
class LayerPrediction:
    """One layer's prediction from :func:`predict_tailoff`; also readable as a dict.

    ``plateau_rms`` and ``tailoff_epoch`` are None where the prediction does not
    apply; ``reason`` then says why (it is ``""`` when both are numbers).
    ``stationary_rms`` is the layer's RMS at the stationary point, and
    ``noise_share`` the expected Q/(-D) of an SGD step there,
    eta^2 E||g_B||^2 / ((1 - a^2) ||W||^2) (:func:`gradient_noise`), both
    given whenever there is decay.
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


def predict_tailoff(network, X, y, *, eta, batch_size, regularizer, tol=1e-3,
                    max_iter=500, warm_start_epochs=2, seed=0):
    """Predict, before training, each layer's plateau RMS and the epoch pure decay reaches it.

    The plateau is the RMS of the layer at a stationary point of C0 + penalty
    (:func:`stationary_point`) found by L-BFGS after a short warm start: two
    epochs of the run's own SGD on a copy (``warm_start_epochs``), so that the
    solve ends at the stationary point SGD heads for where the objective has
    several (docs/exercise.rst compares both starts with training on the
    MNIST sample). For the first layer SGD's plateau is usually a little higher
    than the stationary one: its noise adds the second-order term Q of the norm
    budget.

    The tail-off epoch is when pure decay, at the exact per-step factor
    a = 1 - eta lmbda / n and ceil(n/m) steps per epoch, brings the RMS to the
    plateau::

        t* = ln(RMS_0 / plateau) / (-ceil(n/m) ln a).

    It applies only to a layer that is decay-dominated at the start: it lies
    above its plateau and the gradient's radial pull is small,
    |kappa_0| < 0.5 (the norm budget's tail-off threshold). Otherwise
    ``tailoff_epoch`` is None and ``reason`` says why; the plateau is still
    given. Without decay (no regularizer or lmbda = 0) there is no plateau:
    both are None.

    The stationary point balances decay against the *full-batch* gradient. An
    SGD step adds the second-order term Q = eta^2 ||g_B||^2 on top; each
    layer's ``noise_share`` is its expected Q/(-D) at the stationary point.
    Where its noise part (without the full-batch gradient's, which cancels
    against decay's second-order term at the point) reaches
    :data:`NOISE_SHARE_LIMIT` in any layer, noise and not the
    gradient would hold that layer's norm, SGD does not settle at the
    stationary point (docs/exercise.rst measures it on Fashion-MNIST at the
    book's lmbda/n), and no layer gets a plateau or a tail-off epoch:
    ``reason`` gives the share; ``stationary_rms`` is still there.

    Parameters
    ----------
    network : Network
        The untrained network (not modified).
    X, y : arrays
        The training data; n = len(X).
    eta : float > 0
    batch_size : int >= 1
    regularizer : Regularizer
    tol, max_iter
        Passed to :func:`stationary_point`.
    warm_start_epochs : int >= 0, default 2
        Train a copy this many epochs of SGD (the run's own rule, eta and
        mini-batches, mini-batch orders from ``seed``) before the L-BFGS solve,
        and solve from there. The objective has several stationary points, and
        L-BFGS from the initial weights may stop at another one than SGD's; a
        short warm start (the decay-dominated phase) leads it to SGD's
        (docs/exercise.rst measures a case at lmbda = 200).
        The initial RMS, kappa_0 and the tail-off epoch still refer to
        ``network`` as given.
    seed : int or None, default 0
        Seed of the warm start's mini-batch orders.

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
    regularizer = get_regularizer(regularizer)
    X = check_features(X, "X", network.sizes[0])
    n = len(X)
    steps = -(-n // int(batch_size))
    start = kappa(network, X, y, regularizer)
    no_factor = not regularizer.has_shrink and regularizer.factor(eta, n) == 1.0
    if regularizer.lmbda <= 0 or no_factor or all(s["radial_decay"] <= 0 for s in start):
        layers = [LayerPrediction(l, _rms(w), None, None, s["kappa"], s["radial_gradient"],
                                  s["radial_decay"], math.nan, False, "no decay in this run")
                  for l, (w, s) in enumerate(zip(network.weights, start), 1)]
        return TailoffPrediction(layers, 0.0, steps, None, None)
    check_scalar(warm_start_epochs, "warm_start_epochs", kind=numbers.Integral, low=0)
    begin = network
    if warm_start_epochs:
        from .training import fit

        begin = network.copy()
        fit(begin, X, y, epochs=int(warm_start_epochs), batch_size=int(batch_size), eta=eta,
            regularizer=regularizer, seed=seed)
    sp = stationary_point(begin, X, y, regularizer, tol=tol, max_iter=max_iter)
    end = kappa(sp.network, X, y, regularizer)
    a = pure_decay_factor(regularizer, eta, n)
    per_epoch = None if a is None else a ** steps
    shares, noise_only = _noise_shares(sp.network, X, y, batch_size, eta, regularizer, n)
    noisiest = max(range(len(shares)),
                   key=lambda i: -math.inf if math.isnan(noise_only[i]) else noise_only[i])
    noisy = noise_only[noisiest] >= NOISE_SHARE_LIMIT
    layers = []
    for l, (w0, w1, s0, s1) in enumerate(zip(network.weights, sp.network.weights, start, end), 1):
        rms0, plateau = _rms(w0), _rms(w1)
        k0 = s0["kappa"]
        dominated = rms0 > plateau and abs(k0) < DOMINATED_KAPPA
        tail, reason = None, ""
        if noisy:
            which = "this layer" if noisiest == l - 1 else f"layer {noisiest + 1}"
            reason = (f"noise-dominated: at the stationary point the noise of SGD's steps "
                      f"would add {noise_only[noisiest]:.2g} times as much to ||W||^2 as decay "
                      f"removes in {which} (limit {NOISE_SHARE_LIMIT:g}); SGD settles away "
                      f"from the stationary point (stationary RMS {plateau:.4g})")
            plateau = None
        elif rms0 <= plateau:
            reason = (f"starts below its plateau ({rms0:.4g} <= {plateau:.4g}): "
                      "the gradient makes it grow; decay never dominates")
        elif abs(k0) >= DOMINATED_KAPPA:
            push = "shrinks" if k0 < 0 else "grows"
            reason = (f"never decay-dominated: at the start the gradient's radial pull is "
                      f"{abs(k0):.2g} times decay's (kappa = {k0:.3g}; the gradient {push} it)")
        elif a is None:
            reason = "no closed form: this regularizer's step is not a uniform scaling"
        else:
            tail = math.log(rms0 / plateau) / (-steps * math.log(a))
        layers.append(LayerPrediction(l, rms0, plateau, tail, k0, s0["radial_gradient"],
                                      s0["radial_decay"], s1["kappa"], dominated, reason,
                                      _rms(w1), shares[l - 1]))
    return TailoffPrediction(layers, regularizer.lmbda / n, steps, per_epoch, sp)


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
