"""Exact regularized optima of models without a hidden layer.

Minimizes J(W, b) = C0(W, b) + (lmbda / n) P(W), with n the training-set size,
P(W) = 1/2 ||W||^2 (L2) or sum |w| (L1), biases not penalised: the core
library's conventions. Ridge has a closed form; other L2 problems use scipy's
L-BFGS with analytic gradients, polished by Newton steps on small problems; L1
uses L-BFGS-B on the split W = U - V (U, V >= 0), polished by Newton steps on
the nonzero coefficients.

The optimality residual is the 2-norm of e, where the returned point exactly
minimizes J - <e, theta>: e is the gradient for L2, and for L1 the part of the
gradient that no subgradient of (lmbda / n) sum |w| cancels.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.lapack import dpocon
from scipy.optimize import linprog, minimize
from scipy.sparse import coo_matrix

from .._threads import blas_threads
from .._validation import check_features, check_scalar, check_targets
from ..regularizers import Regularizer
from .models import get_model, solver_inputs

#: BLAS threads during a solve: one, as training (``benchmarks/blas_threads.py --convex``
#: times one against two threads on the embedded sample, side by side).
CONVEX_BLAS_THREADS = 1

NEWTON_MAX_PARAMS = 4000
#: A Newton step solves H s = g by Cholesky when H's estimated reciprocal condition
#: number (LAPACK's ``pocon``) is at least this; otherwise (a singular or nearly
#: singular H, e.g. softmax's shift-invariant biases) by least squares with
#: ``np.linalg.lstsq``, which drops singular values below eps * p of the largest.
NEWTON_RCOND = 1e-10
#: The largest linear program (nonzero constraint coefficients) that proves, at
#: lmbda = 0, that a logistic or softmax problem has a finite optimum; above it the
#: weaker ray test of :func:`_check_bounded` runs after the solve instead.
BOUNDED_LP_MAX = 2_000_000


class NoOptimumError(ValueError):
    """The problem has no finite optimum: its weights can grow without bound."""


@dataclass
class Optimum:
    """A solved problem: parameters, the two parts of J and the optimality residual."""

    weights: np.ndarray
    biases: np.ndarray
    lmbda: float
    model: str
    penalty: str
    cost: float          # C0, the unregularized mean cost
    penalty_value: float  # (lmbda / n) P(W)
    residual: float      # ||e||_2, see the module docstring
    n_iter: int

    @property
    def objective(self):
        return self.cost + self.penalty_value

    @property
    def l2_norm2(self):
        """sum w^2 over all weights."""
        return float(np.sum(self.weights ** 2))

    @property
    def l1_norm(self):
        """sum |w| over all weights."""
        return float(np.sum(np.abs(self.weights)))


def prepare(X, y, model):
    """Validated X (n, d) and targets Y (n, k); labels become one-hot, except for ridge targets."""
    X = check_features(X, "X")
    y = np.asarray(y)
    if y.dtype.kind == "c":
        raise TypeError(f"`y` must be real, got dtype {y.dtype}: casting would drop the "
                        "imaginary part")
    if model.real_targets and (y.dtype.kind == "f" or y.ndim == 2):
        Y = y.reshape(len(y), -1).astype(np.float64)
        if len(Y) != len(X):
            raise ValueError(f"`y` must have {len(X)} rows to match X, got {len(Y)}")
        return X, Y
    if y.ndim == 2:  # targets given directly, e.g. (n, 1) for one binary logistic output
        # in [0, 1]; logistic outputs are one-vs-rest, so only softmax rows must sum to 1
        _, Y = check_targets(y, len(X), y.shape[1], rows_sum_to_one=model.name != "logistic")
        return X, Y
    _, Y = check_targets(y, len(X), max(int(np.max(y)) + 1, 2))
    return X, Y


def penalty_kind(penalty):
    """'l2' or 'l1' from that name or an :class:`~wdecay.L2` / :class:`~wdecay.L1` instance.

    The solvers need the penalty's shape (smooth quadratic, or the L1 kink), not
    its step: a regularizer declares it as ``convex`` (``"l2"`` for L2 and its
    subclasses, ``"l1"`` for L1's); other regularizers are refused.
    """
    if isinstance(penalty, Regularizer):
        if penalty.convex in ("l2", "l1"):
            return penalty.convex
        raise ValueError(f"wdecay.convex solves L2 or L1 penalties only, got {penalty!r}: "
                         "pass penalty='l2', 'l1', or an L2 or L1 instance")
    if penalty not in ("l2", "l1"):
        raise ValueError(f"`penalty` must be 'l2' or 'l1' (or an L2 or L1 instance), "
                         f"got {penalty!r}")
    return penalty


def residual_vector(model, penalty, W, b, X, Y, lmbda):
    """e per parameter: (e_W, e_b); zero exactly at the optimum."""
    _, gW, gb = model.value_grad(W, b, X, Y)
    return _residual_from_gradient(penalty, W, gW, gb, lmbda / len(X))


def _residual_from_gradient(penalty, W, gW, gb, c):
    """:func:`residual_vector` from dC0/dW, dC0/db at (W, b) and c = lmbda / n."""
    if penalty == "l2":
        return gW + c * W, gb
    e = np.where(W != 0, gW + c * np.sign(W), gW - np.clip(gW, -c, c))
    return e, gb


def _pack(W, b):
    return np.hstack([W, b[:, None]]).ravel()


def _unpack(theta, k, d):
    T = theta.reshape(k, d + 1)
    return T[:, :d], T[:, d]


def fit_optimum(X, y, lmbda, model="logistic", penalty="l2", tol=1e-10, init=None,
                maxiter=20000):
    """Solve min C0 + (lmbda/n) P(W) to optimality residual about ``tol``.

    Parameters
    ----------
    X : array (n, d)
    y : int labels (n,) or targets (n, k); ridge also takes real targets
    lmbda : float >= 0 (> 0 for an L2 problem without a unique optimum otherwise)
    model : 'ridge', 'logistic' or 'softmax'
    penalty : 'l2', 'l1', or an L2 or L1 instance (its lmbda is not used: pass ``lmbda``)
    tol : float
        Gradient tolerance of the solver (L-BFGS's ``gtol``).
    init : Optimum, optional
        Warm start.

    Returns
    -------
    Optimum

    Raises
    ------
    NoOptimumError (a ValueError)
        At lmbda = 0 for 'logistic' or 'softmax' when the problem has no finite
        optimum (linearly separable classes): proved by a linear program
        before solving (:func:`_check_bounded`), or, for problems larger than
        ``BOUNDED_LP_MAX``, when doubling the solution still lowers the cost.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 2.0])
    >>> opt = fit_optimum(X, y, 3.0, model="ridge")
    >>> round(float(opt.weights[0, 0]), 6)   # 2 / (2 + 3): shrunk from 1
    0.4
    """
    model = get_model(model)
    penalty = penalty_kind(penalty)
    check_scalar(lmbda, "lmbda", low=0)
    check_scalar(tol, "tol", low=0, inclusive=False)
    check_scalar(maxiter, "maxiter", kind=numbers.Integral, low=1)
    X, Y = prepare(X, y, model)
    with blas_threads(CONVEX_BLAS_THREADS):
        return _fit_optimum(model, penalty, X, Y, lmbda, tol, init, maxiter)


def _fit_optimum(model, penalty, X, Y, lmbda, tol, init, maxiter):
    d, k = X.shape[1], Y.shape[1]
    unpenalized = lmbda == 0 and not model.real_targets
    proved = unpenalized and _check_bounded(model, X, Y)
    exact = model.l2_closed_form(X, Y, lmbda) if penalty == "l2" else None
    if exact is not None:
        (W, b), iters = exact, 0
    elif penalty == "l2":
        W, b, iters = _solve_l2(model, X, Y, lmbda, tol, init, maxiter, k, d)
    else:
        W, b, iters = _solve_l1(model, X, Y, lmbda, tol, init, maxiter, k, d)
    if unpenalized and not proved:
        _ray_test(model, X, Y, W, b)
    return _result(model, penalty, W, b, X, Y, lmbda, iters)


_NO_OPTIMUM = ("lmbda=0: the {model} problem has no finite optimum: {what}, so the cost keeps "
               "falling as the weights grow without bound; pass lmbda > 0")


def _check_bounded(model, X, Y):
    """At lmbda = 0, prove that the classification problem has a finite optimum.

    A convex cost without a minimizer has a direction of recession: for
    logistic output j, a direction u = (w, b) with z_i = w x_i + b >= 0 where
    y_ij = 1, <= 0 where y_ij = 0, = 0 for targets strictly between, and some
    z_i != 0 (the data of class j are linearly separable, perhaps only
    weakly); for softmax, a direction with z_ic >= z_ic' for every class c of
    example i's target and every c', not the same for all classes. One linear
    program each finds the largest sum of such margins in the box |u| <= 1;
    it is 0 exactly when there is none. Returns True when proved bounded,
    False when the program would be larger than ``BOUNDED_LP_MAX`` or the
    solver failed (the ray test then runs after the solve); raises
    :class:`NoOptimumError` when unbounded.
    """
    n, d = X.shape
    k = Y.shape[1]
    X1 = np.hstack([X, np.ones((n, 1))])
    tol = 1e-6 * n * max(1.0, float(np.abs(X1).max()))
    if model.name == "logistic":
        if n * (d + 1) > BOUNDED_LP_MAX:
            return False
        proved = True
        for j in range(k):
            t = Y[:, j]
            s = (t == 1).astype(float) - (t == 0)
            hard, soft = s != 0, s == 0
            if not hard.any():
                continue
            res = linprog(-(s @ X1), A_ub=-(s[hard, None] * X1[hard]), b_ub=np.zeros(hard.sum()),
                          A_eq=X1[soft] if soft.any() else None,
                          b_eq=np.zeros(soft.sum()) if soft.any() else None,
                          bounds=(-1, 1), method="highs")
            if res.status == 0 and -res.fun > tol:
                what = (f"class {j} (output {j}) is linearly separable from the rest" if k > 1
                        else "the two classes are linearly separable")
                raise NoOptimumError(_NO_OPTIMUM.format(model=model.name, what=what))
            proved = proved and res.status == 0  # a failed program proves nothing
        return proved
    # softmax: one constraint z_ic - z_ic' >= 0 per example i, class c of its target, c' != c
    i, c, c2 = np.nonzero((Y[:, :, None] > 0) & ~np.eye(k, dtype=bool)[None])
    rows = len(i)
    if rows * 2 * (d + 1) > BOUNDED_LP_MAX:
        return False
    p = d + 1
    r = np.repeat(np.arange(rows), 2 * p)
    cols = np.concatenate([c[:, None] * p + np.arange(p), c2[:, None] * p + np.arange(p)],
                          axis=1).ravel()
    vals = np.concatenate([-X1[i], X1[i]], axis=1).ravel()
    A = coo_matrix((vals, (r, cols)), shape=(rows, k * p)).tocsr()
    outside = Y[i, c2] == 0  # margins against classes outside the target count in the objective
    objective = np.asarray(A[outside].sum(axis=0)).ravel()  # minus the margins' sum
    res = linprog(objective, A_ub=A, b_ub=np.zeros(rows), bounds=(-1, 1), method="highs")
    if res.status == 0 and -res.fun > tol:
        raise NoOptimumError(_NO_OPTIMUM.format(
            model=model.name, what="the classes are linearly separable"))
    return res.status == 0


def _ray_test(model, X, Y, W, b):
    """After a solve at lmbda = 0 too large for the program: doubling (W, b) must not help."""
    value = model.value_grad(W, b, X, Y)[0]
    doubled = model.value_grad(2 * W, 2 * b, X, Y)[0]
    if doubled < value * (1 - 1e-9) and np.any(W != 0):
        raise NoOptimumError(_NO_OPTIMUM.format(
            model=model.name, what=f"doubling the solver's weights (sum w^2 = "
                                   f"{float(np.sum(W ** 2)):.4g}) still lowers the cost"))


def _result(model, penalty, W, b, X, Y, lmbda, iters):
    n = len(X)
    value, gW, gb = model.value_grad(W, b, X, Y)
    pen = 0.5 * np.sum(W ** 2) if penalty == "l2" else np.sum(np.abs(W))
    eW, eb = _residual_from_gradient(penalty, W, gW, gb, lmbda / n)
    res = float(np.sqrt(np.sum(eW ** 2) + np.sum(eb ** 2)))
    return Optimum(W, b, float(lmbda), model.name, penalty, value, float(lmbda / n * pen),
                   res, iters)


def _solve_l2(model, X, Y, lmbda, tol, init, maxiter, k, d):
    n = len(X)
    c = lmbda / n
    Xs = solver_inputs(X)

    def fun(theta):
        W, b = _unpack(theta, k, d)
        value, gW, gb = model.value_grad(W, b, Xs, Y)
        return value + 0.5 * c * np.sum(W ** 2), _pack(gW + c * W, gb)

    theta = _pack(init.weights, init.biases) if init is not None else np.zeros(k * (d + 1))
    out = minimize(fun, theta, jac=True, method="L-BFGS-B",
                   options={"gtol": tol, "ftol": 0.0, "maxiter": maxiter, "maxcor": 30})
    theta, iters = out.x, out.nit
    if theta.size <= NEWTON_MAX_PARAMS:
        penalty_diag = np.tile(np.r_[np.full(d, c), 0.0], k)

        def hess(th):
            W, b = _unpack(th, k, d)
            return model.hessian(W, b, X) + np.diag(penalty_diag)

        theta = _newton_polish(fun, hess, theta)
    W, b = _unpack(theta, k, d)
    return W.copy(), b.copy(), iters


def _newton_step(H, g):
    """The Newton step s solving H s = g (H symmetric, positive semi-definite).

    Cholesky when H is positive definite with reciprocal condition number at
    least :data:`NEWTON_RCOND`, else least squares (the minimum-norm solution
    of a singular H, as ``np.linalg.lstsq``).
    """
    try:
        factor = cho_factor(H, check_finite=False)
    except LinAlgError:
        factor = None
    if factor is not None:
        rcond, info = dpocon(factor[0], np.abs(H).sum(axis=0).max())
        if info == 0 and rcond >= NEWTON_RCOND:
            return cho_solve(factor, g, check_finite=False)
    return np.linalg.lstsq(H, g, rcond=None)[0]


def _newton_polish(fun, hess, theta, steps=4):
    """A few Newton steps, each kept only if it lowers the gradient norm."""
    g = fun(theta)[1]
    for _ in range(steps):
        step = _newton_step(hess(theta), g)
        candidate = theta - step
        g_new = fun(candidate)[1]
        if not np.linalg.norm(g_new) < np.linalg.norm(g):
            break
        theta, g = candidate, g_new
    return theta


def _solve_l1(model, X, Y, lmbda, tol, init, maxiter, k, d):
    n = len(X)
    c = lmbda / n
    m = k * d
    Xs = solver_inputs(X)

    def fun(z):
        u, v, b = z[:m], z[m:2 * m], z[2 * m:]
        W = (u - v).reshape(k, d)
        value, gW, gb = model.value_grad(W, b, Xs, Y)
        g = gW.ravel()
        return value + c * (u.sum() + v.sum()), np.concatenate([g + c, -g + c, gb])

    if init is not None:
        w0 = init.weights.ravel()
        z0 = np.concatenate([np.maximum(w0, 0), np.maximum(-w0, 0), init.biases])
    else:
        z0 = np.zeros(2 * m + k)
    bounds = [(0, None)] * (2 * m) + [(None, None)] * k
    out = minimize(fun, z0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"gtol": tol, "ftol": 0.0, "maxiter": maxiter, "maxcor": 30})
    z = out.x
    W = (z[:m] - z[m:2 * m]).reshape(k, d)
    b = z[2 * m:].copy()
    W, b = _l1_polish(model, X, Y, lmbda, W, b)
    iters = out.nit
    # L-BFGS-B can stall on the split problem (e.g. along softmax's flat directions);
    # accelerated proximal gradient always converges. Run it to looser tolerances
    # first: once the zero pattern is right, the Newton polish finishes the job.
    for stage in (1e-4, 1e-6, 1e-8, tol):
        if _l1_residual(model, X, Y, lmbda, W, b) <= 10 * tol:
            break
        W, b, more = _fista_l1(model, X, Xs, Y, lmbda, W, b, max(stage, tol), maxiter)
        W, b = _l1_polish(model, X, Y, lmbda, W, b)
        iters += more
    return W, b, iters


def _l1_residual(model, X, Y, lmbda, W, b):
    eW, eb = residual_vector(model, "l1", W, b, X, Y, lmbda)
    return float(np.sqrt(np.sum(eW ** 2) + np.sum(eb ** 2)))


def _fista_l1(model, X, Xs, Y, lmbda, W, b, tol, maxiter):
    """Accelerated proximal gradient (FISTA with backtracking and restarts) for L1.

    ``Xs`` is X for the steps (:func:`~wdecay.convex.models.solver_inputs`); the
    stopping residual is evaluated on X itself.
    """
    c = lmbda / len(X)

    def prox(W, b, gW, gb, t):
        Z = W - t * gW
        return np.sign(Z) * np.maximum(np.abs(Z) - t * c, 0.0), b - t * gb

    L, x, y_, momentum = 1.0, (W, b), (W, b), 1.0
    for it in range(1, maxiter + 1):
        fy, gW, gb = model.value_grad(*y_, Xs, Y)
        while True:
            cand = prox(*y_, gW, gb, 1.0 / L)
            dW, db = cand[0] - y_[0], cand[1] - y_[1]
            f_cand = model.value_grad(*cand, Xs, Y)[0]
            bound = fy + np.sum(gW * dW) + np.sum(gb * db) + 0.5 * L * (np.sum(dW ** 2) + np.sum(db ** 2))
            if f_cand <= bound + 1e-15 * abs(fy):
                break
            L *= 2.0
        objective = lambda th: model.value_grad(*th, Xs, Y)[0] + c * np.abs(th[0]).sum()  # noqa: E731
        if objective(cand) > objective(x):  # restart the momentum
            momentum, y_ = 1.0, x
            continue
        nxt = (1 + np.sqrt(1 + 4 * momentum ** 2)) / 2
        beta = (momentum - 1) / nxt
        y_ = (cand[0] + beta * (cand[0] - x[0]), cand[1] + beta * (cand[1] - x[1]))
        x, momentum = cand, nxt
        L *= 0.9
        if it % 20 == 0 and _l1_residual(model, X, Y, lmbda, *x) <= tol:
            break
    return x[0], x[1], it


def _l1_polish(model, X, Y, lmbda, W, b):
    """Newton steps on the nonzero weights and the biases, keeping their signs."""
    k, d = W.shape
    if k * (d + 1) > NEWTON_MAX_PARAMS:
        return W, b
    c = lmbda / len(X)
    start = (W.copy(), b.copy())
    W = W.copy()
    # Weights that L-BFGS-B left tiny but nonzero, where zero satisfies the
    # subgradient condition |g| <= lmbda/n, belong at exactly zero.
    _, gW, gb = model.value_grad(W, b, X, Y)
    tiny = np.abs(W) < 1e-6 * max(1.0, np.abs(W).max())
    zero = tiny & (np.abs(gW) <= c * (1 + 1e-6))
    if np.any((W[zero] != 0) | np.signbit(W[zero])):  # else W stays as it is, and its gradient
        W[zero] = 0.0
        _, gW, gb = model.value_grad(W, b, X, Y)
    for _ in range(4):
        active = np.hstack([W != 0, np.ones((k, 1), bool)]).ravel()
        theta = _pack(W, b)
        eW, eb = _residual_from_gradient("l1", W, gW, gb, c)
        g = _pack(gW + c * np.sign(W), gb)
        H = model.hessian(W, b, X)[np.ix_(active, active)]
        step = np.zeros_like(theta)
        step[active] = _newton_step(H, g[active])
        W_new, b_new = _unpack(theta - step, k, d)
        if np.any(np.sign(W_new) != np.sign(W)):
            break
        _, gW_new, gb_new = model.value_grad(W_new, b_new, X, Y)
        e_new = _residual_from_gradient("l1", W_new, gW_new, gb_new, c)
        old = np.sum(eW ** 2) + np.sum(eb ** 2)
        if not np.sum(e_new[0] ** 2) + np.sum(e_new[1] ** 2) < old:
            break
        W, b, gW, gb = W_new.copy(), b_new.copy(), gW_new, gb_new
    return _better(model, X, Y, lmbda, (W, b), start)


def _better(model, X, Y, lmbda, *candidates):
    """The candidate (W, b) with the smallest L1 optimality residual."""
    def size(cand):
        eW, eb = residual_vector(model, "l1", cand[0], cand[1], X, Y, lmbda)
        return np.sum(eW ** 2) + np.sum(eb ** 2)
    return min(candidates, key=size)
