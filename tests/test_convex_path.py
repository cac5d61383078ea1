"""Paths: which norm is monotone for which penalty, the non-monotone count, the default grid."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wdecay.convex import correlated_ridge_example, regularization_path
from wdecay.convex.path import EXPERIMENT_LMBDAS, Path, default_lmbdas
from wdecay.datasets import load_mnist_sample


def problem(seed, n=40, d=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) @ (np.eye(d) + 0.8 * rng.standard_normal((d, d)))
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(float)[:, None]
    return X, y


LMBDAS = np.geomspace(0.05, 50.0, 6)


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 10_000))
def test_l2_sum_of_squares_never_increases_with_lmbda(seed):
    X, y = problem(seed)
    path = regularization_path(X, y, LMBDAS, model="logistic", penalty="l2")
    # rows are largest lmbda first: sum w^2 grows (weakly) as lmbda falls
    assert np.all(np.diff(path.l2_norm2) >= -1e-8 * path.l2_norm2.max())


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 10_000))
def test_l1_sum_of_abs_never_increases_with_lmbda(seed):
    X, y = problem(seed)
    path = regularization_path(X, y, LMBDAS, model="logistic", penalty="l1")
    assert np.all(np.diff(path.l1_norm) >= -1e-6 * max(path.l1_norm.max(), 1e-12))
    assert path.n_nonzero[0] <= path.n_nonzero[-1]


def test_under_l1_the_sum_of_squares_can_increase_with_lmbda():
    # two nearly identical features, y = x1 + x2: at large lmbda L1 puts everything on one
    # feature; as lmbda falls the other enters and the weight is shared, so sum w^2 falls
    rng = np.random.default_rng(0)
    c = rng.standard_normal(100)
    X = np.column_stack([c + 0.005 * rng.standard_normal(100), c + 0.005 * rng.standard_normal(100)])
    y = X[:, 0] + X[:, 1] + 0.01 * rng.standard_normal(100)
    path = regularization_path(X, y, np.geomspace(1, 300, 12), model="ridge", penalty="l1")
    assert np.all(np.diff(path.l1_norm) >= -1e-9)               # sum |w| monotone
    assert np.any(np.diff(path.l2_norm2) < -0.1)                 # sum w^2 is not
    assert list(path.n_nonzero[:3]) == [0, 1, 1] and path.n_nonzero[-1] == 2


def test_nonmonotone_counts_the_ridge_example_and_skips_zero_columns():
    X, y, lmbdas = correlated_ridge_example()
    X = np.column_stack([X, np.zeros(len(X))])  # an always-zero input
    path = regularization_path(X, y, lmbdas, model="ridge")
    r = path.nonmonotone(tol=0.1)
    assert r.count == 1 and r.skipped_zero_columns == 1 and r.checked == 2
    assert np.isnan(r.excursions[2]) and r.excursions[1] == pytest.approx(r.largest_excursion)
    # |w2| goes 0.020 -> 0.363 -> 0.089 as lmbda falls: it falls back by (0.363 - 0.089)/0.363
    w2 = np.abs(path.weights[:, 0, 1])
    assert r.largest_excursion == pytest.approx((w2.max() - w2[-1]) / w2.max())
    assert path.nonmonotone(tol=0.9).count == 0
    assert list(r.n_nonzero) == list(path.n_nonzero)


def test_nonmonotone_rejects_a_negative_tolerance():
    X, y, lmbdas = correlated_ridge_example()
    path = regularization_path(X, y, lmbdas[:3], model="ridge")
    with pytest.raises(ValueError, match="`tol` must be >= 0, got -1"):
        path.nonmonotone(tol=-1)


def test_monotone_synthetic_path_counts_nothing():
    L, k, d = 5, 1, 3
    w = np.linspace(0.1, 1.0, L)[:, None, None] * np.ones((L, k, d))
    path = Path(np.geomspace(10, 1, L), w, np.zeros((L, k)), *(np.zeros(L),) * 4)
    r = path.nonmonotone()
    assert r.count == 0 and r.largest_excursion == 0.0 and r.skipped_zero_columns == 0


def test_default_grid_contains_the_experiment_lmbda():
    (X, y), _, _ = load_mnist_sample()
    keep = np.isin(y, (3, 8))
    Y = (y[keep] == 8).astype(float)[:, None]
    for penalty in ("l2", "l1"):
        grid = default_lmbdas(X[keep], Y, penalty=penalty, n_lmbdas=20)
        assert 5.0 in EXPERIMENT_LMBDAS and np.any(grid == 5.0)
        assert np.all(np.diff(grid) < 0) and len(grid) == 20
    path = regularization_path(X[keep][:100], Y[:100], lmbdas=[1e4, 1e3], model="ridge")
    assert path.zero_columns.sum() == np.sum(~np.any(X[keep][:100] != 0, axis=0)) > 0
