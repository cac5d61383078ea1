"""Regularization paths, the bridge to SGD training, and a non-monotone coefficient example.

Which norm is monotone along a path (J = C0 + penalty, convex, lmbda growing):

- L2, penalty (lmbda/2n) sum w^2: sum w^2 of the optimum never increases;
- L1, penalty (lmbda/n) sum |w|: sum |w| never increases, but sum w^2 may;
- single coefficients need not be monotone under either penalty:
  :meth:`Path.nonmonotone` counts them.

In each case it is the penalized norm P that is monotone: comparing the
optima w1, w2 at lmbda1 < lmbda2 in both problems and adding the two
optimality inequalities gives (lmbda2 - lmbda1)(P(w1) - P(w2)) >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import DEFAULTS
from .models import get_model
from .solve import fit_optimum, penalty_kind, prepare

GLMNET_L2_ALPHA = 1e-3  # glmnet's stand-in mixing for lmbda_max when the penalty is pure L2
#: lmbda values always on the default grid: those ``wdecay experiment`` uses by default.
EXPERIMENT_LMBDAS = (float(DEFAULTS["lmbda"]),)
#: Default relative tolerance of :meth:`Path.nonmonotone`.
NONMONOTONE_TOL = 1e-6


@dataclass
class NonMonotone:
    """What :meth:`Path.nonmonotone` returns.

    Attributes
    ----------
    count : int
        Coefficients whose magnitude falls, somewhere along falling lmbda, by
        more than ``tolerance`` times their peak magnitude.
    largest_excursion : float
        The largest such fall, relative to the coefficient's peak |value|
        (0 if none).
    tolerance : float
    skipped_zero_columns : int
        Coefficients skipped because their input column is all zero (their
        optimum is 0 and they move only at round-off).
    checked : int
        Coefficients checked.
    excursions : ndarray
        Each coefficient's relative fall (NaN where skipped).
    n_nonzero : ndarray
        Non-zero weights per lmbda (meaningful for L1, which sets weights to
        exactly 0).
    """

    count: int
    largest_excursion: float
    tolerance: float
    skipped_zero_columns: int
    checked: int
    excursions: np.ndarray
    n_nonzero: np.ndarray


@dataclass
class Path:
    """Per-lmbda solutions, largest lmbda first."""

    lmbdas: np.ndarray        # (L,)
    weights: np.ndarray       # (L, k, d)
    biases: np.ndarray        # (L, k)
    l2_norm2: np.ndarray      # sum w^2 per lmbda
    l1_norm: np.ndarray       # sum |w| per lmbda
    train_cost: np.ndarray    # C0 per lmbda
    residual: np.ndarray      # optimality residual per lmbda
    eval_cost: np.ndarray = None
    eval_accuracy: np.ndarray = None
    zero_columns: np.ndarray = None  # (d,) True where the input column is all zero

    @property
    def coefficients(self):
        """Per-coefficient paths, shape (L, k * d)."""
        return self.weights.reshape(len(self.lmbdas), -1)

    @property
    def n_nonzero(self):
        """Non-zero weights per lmbda (L1 sets weights to exactly 0; L2 never does)."""
        return np.count_nonzero(self.coefficients, axis=1)

    def nonmonotone(self, tol=NONMONOTONE_TOL):
        """Count coefficients whose magnitude is not monotone along the path.

        Going from the largest lmbda to the smallest, a coefficient's
        excursion is the largest fall of |w| below its running maximum, divided
        by its peak |w|. It counts as non-monotone if the excursion exceeds
        ``tol``. Coefficients whose input column is all zero are skipped.

        Examples
        --------
        >>> from wdecay.convex import correlated_ridge_example
        >>> X, y, lmbdas = correlated_ridge_example()
        >>> r = regularization_path(X, y, lmbdas, model="ridge").nonmonotone(tol=0.1)
        >>> r.count, round(r.largest_excursion, 2)
        (1, 0.76)
        """
        if not tol >= 0:
            raise ValueError(f"`tol` must be >= 0, got {tol}")
        mags = np.abs(self.weights)                         # (L, k, d), lmbda falling
        skip = np.zeros(mags.shape[1:], dtype=bool)
        if self.zero_columns is not None:
            skip[:, self.zero_columns] = True
        mags = mags.reshape(len(self.lmbdas), -1)
        skip = skip.ravel()
        peak = mags.max(axis=0)
        fall = (np.maximum.accumulate(mags, axis=0) - mags).max(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            excursion = np.where(peak > 0, fall / np.where(peak > 0, peak, 1.0), 0.0)
        excursion[skip] = np.nan
        checked = excursion[~skip]
        bad = checked > tol
        return NonMonotone(int(bad.sum()), float(checked.max()) if checked.size else 0.0,
                           float(tol), int(skip.sum()), int(checked.size), excursion,
                           self.n_nonzero)


def lmbda_max(X, y, model="logistic", penalty="l2"):
    """The data-derived top of the default grid, as in glmnet.

    For L1 it is the smallest lmbda whose optimum has all weights zero:
    n max |dC0/dw| at W = 0 with the optimal biases. For L2, which never zeroes
    the weights, that value divided by glmnet's alpha = 1e-3.
    """
    model = get_model(model)
    X, Y = prepare(X, y, model)
    _, gW, _ = model.value_grad(np.zeros((Y.shape[1], X.shape[1])), model.zero_weight_biases(Y),
                                X, Y)
    top = len(X) * float(np.abs(gW).max())
    return top if penalty_kind(penalty) == "l1" else top / GLMNET_L2_ALPHA



def default_lmbdas(X, y, model="logistic", penalty="l2", n_lmbdas=30, eps=1e-4):
    """The default grid, largest first: ``n_lmbdas`` values log-spaced from
    :func:`lmbda_max` down to ``eps`` times it, on which the lmbda values of
    ``EXPERIMENT_LMBDAS`` (those ``wdecay experiment`` uses) always lie.

    The grid's lower end is extended down to the smallest of them if needed;
    one inside the grid replaces its nearest grid point (never the top, which
    is :func:`lmbda_max`). Values above :func:`lmbda_max` are left out.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((40, 3))
    >>> grid = default_lmbdas(X, X[:, :1] > 0, n_lmbdas=10)
    >>> len(grid), bool(np.any(grid == 5.0))
    (10, True)
    """
    top = lmbda_max(X, y, model, penalty)
    include = [v for v in EXPERIMENT_LMBDAS if v < top]
    low = min([top * eps, *include])
    grid = np.geomspace(top, low, n_lmbdas)
    for v in include:
        if n_lmbdas > 1 and not np.any(grid == v):
            nearest = 1 + int(np.argmin(np.abs(np.log(grid[1:] / v))))
            grid[nearest] = v
    return np.sort(grid)[::-1]


def regularization_path(X, y, lmbdas=None, model="logistic", penalty="l2", n_lmbdas=30,
                        eps=1e-4, evaluation_data=None, tol=1e-10):
    """Solve along a grid of lmbda, each solve warm-started from the previous one.

    The default grid has ``n_lmbdas`` values log-spaced from :func:`lmbda_max`
    down to ``eps`` times it, plus the lmbda values ``wdecay experiment`` uses
    (``EXPERIMENT_LMBDAS``, lmbda = 5) wherever they fall.
    """
    model = get_model(model)
    if lmbdas is None:
        lmbdas = default_lmbdas(X, y, model, penalty, n_lmbdas, eps)
    lmbdas = np.sort(np.asarray(lmbdas, dtype=float))[::-1]
    solutions, previous = [], None
    for lmbda in lmbdas:
        previous = fit_optimum(X, y, float(lmbda), model=model, penalty=penalty, tol=tol,
                               init=previous)
        solutions.append(previous)
    path = Path(lmbdas, np.array([s.weights for s in solutions]),
                np.array([s.biases for s in solutions]),
                np.array([s.l2_norm2 for s in solutions]),
                np.array([s.l1_norm for s in solutions]),
                np.array([s.cost for s in solutions]),
                np.array([s.residual for s in solutions]))
    path.zero_columns = ~np.any(np.asarray(X, dtype=float) != 0, axis=0)
    if evaluation_data is not None:
        Xe, ye = evaluation_data
        Xe, Ye = prepare(Xe, ye, model)
        costs, accs = [], []
        for s in solutions:
            value, _, _ = model.value_grad(s.weights, s.biases, Xe, Ye)
            out = Xe @ s.weights.T + s.biases
            costs.append(value)
            if Ye.shape[1] == 1:  # one logistic output: class 1 where z > 0
                accs.append(float(np.mean((out[:, 0] > 0) == (Ye[:, 0] > 0.5))))
            else:
                accs.append(float(np.mean(out.argmax(1) == Ye.argmax(1))))
        path.eval_cost, path.eval_accuracy = np.array(costs), np.array(accs)
    return path


def distance_to_optimum(network, X, y, lmbda, tol=1e-10, optimum=None):
    """How far a trained ``[d, k]`` Network is from the exact optimum of its problem.

    The network's cost picks the model (cross-entropy: 'logistic', log-likelihood:
    'softmax'); L2 with the same lmbda and n = len(X). Returns
    ``(relative weight distance, relative bias distance, optimum)``; pass the
    returned ``optimum`` back to skip solving again.
    """
    if len(network.sizes) != 2:
        raise ValueError(f"the convex bridge needs a network without hidden layers, got "
                         f"sizes {network.sizes}")
    models = {"cross-entropy": "logistic", "log-likelihood": "softmax"}
    if network.cost.name not in models:
        raise ValueError(f"no convex model for cost {network.cost.name!r}")
    opt = optimum or fit_optimum(X, y, lmbda, model=models[network.cost.name], tol=tol)
    dw = np.linalg.norm(network.weights[0] - opt.weights) / np.linalg.norm(opt.weights)
    db = np.linalg.norm(network.biases[0] - opt.biases) / max(np.linalg.norm(opt.biases), 1e-300)
    return float(dw), float(db), opt


def correlated_ridge_example():
    """A deterministic ridge problem where |w_2| first grows, then shrinks, as lmbda grows.

    Two features with correlation about 0.9 and y = x1 + 0.1 x2 + noise. Ridge
    shrinks the low-variance direction (1, -1) faster than (1, 1), so w_2 is
    pulled up towards w_1 before everything shrinks to 0; the total norm falls
    throughout. Returns (X, y, lmbdas).
    """
    rng = np.random.default_rng(0)
    n = 200
    common = rng.standard_normal(n)
    X = np.column_stack([common + 0.33 * rng.standard_normal(n),
                         common + 0.33 * rng.standard_normal(n)])
    y = X[:, 0] + 0.1 * X[:, 1] + 0.05 * rng.standard_normal(n)
    return X, y, np.geomspace(1e-2, 1e4, 61)
