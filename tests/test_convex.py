"""The convex case: exact optima, the monotone-norm theorem as properties, paths, the bridge."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import wdecay
from wdecay.convex import (correlated_ridge_example, distance_to_optimum, fit_optimum,
                           lmbda_max, regularization_path, residual_vector)
from wdecay.convex.models import get_model
from wdecay.convex.solve import prepare

models = st.sampled_from(["ridge", "logistic", "softmax"])


def problem(seed, model, n=24, d=3, k=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if model == "ridge":
        return X, X @ rng.standard_normal((d, 2)) + rng.standard_normal((n, 2))
    y = np.arange(n) % k  # every class present
    rng.shuffle(y)
    return X, y


def residual_norm(opt, X, y):
    model = get_model(opt.model)
    X, Y = prepare(X, y, model)
    eW, eb = residual_vector(model, opt.penalty, opt.weights, opt.biases, X, Y, opt.lmbda)
    return np.sqrt(np.sum(eW ** 2) + np.sum(eb ** 2))


def exchange_tolerances(o1, o2, n):
    """Slack in the monotonicity inequalities from the optimality residuals.

    The returned point theta_i exactly minimizes J_i - <e_i, theta>, with
    ||e_i|| = residual_i. Comparing each solution with the other in both
    problems and adding the two inequalities gives
        (lmbda2 - lmbda1)/n * (P(w1) - P(w2)) >= -(r1 + r2) ||theta1 - theta2||,
    so P(w2) - P(w1) <= tol_P = n (r1 + r2) ||theta1 - theta2|| / (lmbda2 - lmbda1),
    and from problem 1 alone
        C0(w2) - C0(w1) >= lmbda1/n (P(w1) - P(w2)) - r1 ||theta1 - theta2||
                        >= -(lmbda1/n tol_P + r1 ||theta1 - theta2||).
    A factor 10 covers rounding in evaluating P and C0 (relative 1e-15).
    """
    dist = np.sqrt(np.sum((o1.weights - o2.weights) ** 2) + np.sum((o1.biases - o2.biases) ** 2))
    tol_p = n * (o1.residual + o2.residual) * dist / (o2.lmbda - o1.lmbda)
    tol_c = o1.lmbda / n * tol_p + o1.residual * dist
    return 10 * tol_p + 1e-14, 10 * tol_c + 1e-14


@given(model=models, seed=st.integers(0, 10**6), l1=st.floats(0.05, 20), factor=st.floats(1.01, 50))
def test_l2_norm_never_grows_and_cost_never_falls(model, seed, l1, factor):
    X, y = problem(seed, model)
    o1 = fit_optimum(X, y, l1, model=model)
    o2 = fit_optimum(X, y, l1 * factor, model=model)
    tol_p, tol_c = exchange_tolerances(o1, o2, len(X))
    assert 0.5 * o2.l2_norm2 <= 0.5 * o1.l2_norm2 + tol_p
    assert o2.cost >= o1.cost - tol_c


@given(model=models, seed=st.integers(0, 10**6), l1=st.floats(0.05, 20), factor=st.floats(1.01, 50))
def test_l1_norm_never_grows(model, seed, l1, factor):
    X, y = problem(seed, model)
    o1 = fit_optimum(X, y, l1, model=model, penalty="l1")
    o2 = fit_optimum(X, y, l1 * factor, model=model, penalty="l1")
    tol_p, tol_c = exchange_tolerances(o1, o2, len(X))
    assert o2.l1_norm <= o1.l1_norm + tol_p
    assert o2.cost >= o1.cost - tol_c


@given(model=models, penalty=st.sampled_from(["l2", "l1"]), seed=st.integers(0, 10**6),
       lmbda=st.floats(0.05, 50))
def test_residual_at_solution_is_within_tolerance(model, penalty, seed, lmbda):
    X, y = problem(seed, model)
    opt = fit_optimum(X, y, lmbda, model=model, penalty=penalty, tol=1e-10)
    # L-BFGS stops at a projected-gradient inf-norm of 1e-10; over p <= 12
    # parameters the 2-norm is at most sqrt(12) * 1e-10 < 4e-10.
    assert opt.residual <= 4e-10
    assert residual_norm(opt, X, y) == pytest.approx(opt.residual, rel=1e-6, abs=1e-15)


@given(seed=st.integers(0, 10**6), lmbda=st.floats(0.01, 100))
def test_ridge_matches_closed_form_and_iterative_solution(seed, lmbda):
    X, Y = problem(seed, "ridge")
    opt = fit_optimum(X, Y, lmbda, model="ridge")
    X1 = np.hstack([X, np.ones((len(X), 1))])
    reg = np.diag([lmbda] * X.shape[1] + [0.0])  # the bias is not penalised
    theta = np.linalg.solve(X1.T @ X1 + reg, X1.T @ Y)
    np.testing.assert_allclose(opt.weights, theta[:-1].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(opt.biases, theta[-1], rtol=1e-9, atol=1e-12)
    assert opt.residual < 1e-10


def test_single_coefficient_is_not_monotone_while_total_norm_falls():
    X, y, lmbdas = correlated_ridge_example()
    path = regularization_path(X, y, lmbdas, model="ridge")
    w2 = np.abs(path.weights[::-1, 0, 1])  # increasing lmbda
    peak = int(np.argmax(w2))
    assert 0 < peak < len(w2) - 1
    assert w2[peak] > 3 * w2[0] and w2[peak] > 10 * w2[-1]  # up by 3x, then down by 10x
    assert np.all(np.diff(path.l2_norm2[::-1]) <= 1e-12)


def test_path_defaults_warm_starts_and_evaluation():
    X, y = problem(3, "softmax", n=60, d=4)
    path = regularization_path(X, y, model="softmax", n_lmbdas=8, evaluation_data=(X, y))
    assert path.lmbdas[0] == pytest.approx(lmbda_max(X, y, "softmax"))
    assert np.all(np.diff(path.lmbdas) < 0) and np.all(path.residual < 1e-9)
    assert np.all(np.diff(path.l2_norm2) >= -1e-12)  # smaller lmbda, larger norm
    assert path.eval_accuracy.shape == (8,) and path.coefficients.shape == (8, 12)
    l1 = regularization_path(X, y, model="logistic", penalty="l1", n_lmbdas=5)
    assert l1.l1_norm[0] == 0.0  # lmbda_max zeroes every weight under L1
    assert l1.l1_norm[1] > 0.0


def test_bridge_sgd_approaches_the_optimum():
    X, y = problem(5, "logistic", n=200, d=5)
    net = wdecay.Network([5, 3], cost="cross-entropy", seed=0)
    distances = []
    for _ in range(3):
        net.fit(X, y, epochs=200, batch_size=200, eta=0.5, regularizer=wdecay.L2(5.0))
        distances.append(distance_to_optimum(net, X, y, 5.0)[0])
    # each leg gets closer, until the distance is at round-off (about 1e-15)
    assert distances[0] > distances[1] and distances[2] < 1e-3
    assert distances[1] > distances[2] or max(distances[1:]) < 1e-13


@pytest.mark.slow
def test_matches_scikit_learn_on_two_mnist_digits():
    sklearn = pytest.importorskip("sklearn.linear_model")
    from wdecay.datasets import load_mnist_sample

    (X, y), _, _ = load_mnist_sample()
    keep = (y == 3) | (y == 8)
    X, y = X[keep], (y[keep] == 8).astype(int)
    lmbda = 10.0
    ours = fit_optimum(X, y[:, None].astype(float), lmbda, model="logistic")
    # Nielsen: (1/n) sum loss + lmbda/(2n) ||w||^2 == (1/(n lmbda)) (1/2 ||w||^2 + C sum loss), C = 1/lmbda
    clf = sklearn.LogisticRegression(C=1 / lmbda, tol=1e-12, max_iter=100000).fit(X, y)
    assert ours.residual < 1e-8
    np.testing.assert_allclose(ours.weights[0], clf.coef_[0], rtol=1e-5, atol=1e-5 * np.abs(clf.coef_).max())


@pytest.mark.slow
def test_bridge_on_mnist_784_10_approaches_the_optimum():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "examples" / "convex_bridge.py"
    spec = importlib.util.spec_from_file_location("convex_bridge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    distances = module.main(["--epochs", "60", "--checkpoints", "2"])
    assert distances[1] < distances[0] < 0.15


@pytest.mark.parametrize("model", ["ridge", "logistic", "softmax"])
def test_sparse_inputs_give_the_dense_pass(model):
    """Mostly-zero inputs are multiplied in CSR form: the same cost and gradient, to rounding."""
    from wdecay.convex.models import SPARSE_MIN_ENTRIES, SparseInputs, solver_inputs

    rng = np.random.default_rng(0)
    X = rng.random((50, 7)) * (rng.random((50, 7)) < 0.2)
    X[:, 3] = 0.0  # an always-zero input
    _, y = problem(1, model, n=50)
    m = get_model(model)
    X, Y = prepare(X, y, m)
    W, b = rng.standard_normal((Y.shape[1], 7)), rng.standard_normal(Y.shape[1])
    assert not isinstance(solver_inputs(X), SparseInputs)  # small inputs stay dense
    big = np.zeros((SPARSE_MIN_ENTRIES // 100, 100))
    big[:, 0] = 1.0
    assert isinstance(solver_inputs(big), SparseInputs)
    assert not isinstance(solver_inputs(big + 1.0), SparseInputs)  # so do dense ones
    dense, sparse = m.value_grad(W, b, X, Y), m.value_grad(W, b, SparseInputs(X), Y)
    assert sparse[0] == pytest.approx(dense[0], rel=1e-14)
    np.testing.assert_allclose(sparse[1], dense[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sparse[2], dense[2], rtol=1e-12, atol=1e-15)


def test_logistic_hessian_is_the_weighted_gram_matrix():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    X[:, 2] = 0.0  # left out of the sum, its rows and columns are 0
    W, b = rng.standard_normal((2, 5)), rng.standard_normal(2)
    H = get_model("logistic").hessian(W, b, X)
    X1 = np.hstack([X, np.ones((30, 1))])
    s = 1 / (1 + np.exp(-(X @ W.T + b)))
    for j in range(2):
        block = H[6 * j:6 * (j + 1), 6 * j:6 * (j + 1)]
        np.testing.assert_allclose(block, (X1 * (s[:, [j]] * (1 - s[:, [j]]))).T @ X1 / 30,
                                   rtol=1e-13, atol=1e-16)
    assert not H[:6, 6:].any() and np.array_equal(H, H.T)


def test_newton_step_solves_definite_systems_and_falls_back_on_singular_ones():
    from wdecay.convex.solve import _newton_step

    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    g = rng.standard_normal(6)
    H = A @ A.T + 0.1 * np.eye(6)  # positive definite: Cholesky
    np.testing.assert_allclose(_newton_step(H, g), np.linalg.solve(H, g), rtol=1e-10)
    v = np.ones(6) / np.sqrt(6)
    S = H - (v @ H @ v) * np.outer(v, v)  # singular along v, as softmax's bias shift
    S = (S + S.T) / 2
    S -= np.outer(S @ v, v) + np.outer(v, S @ v) - (v @ S @ v) * np.outer(v, v)
    assert np.linalg.matrix_rank(S) == 5
    step = _newton_step(S, g)
    np.testing.assert_allclose(step, np.linalg.lstsq(S, g, rcond=None)[0], atol=1e-10)
    assert abs(step @ v) < 1e-10  # the minimum-norm solution: nothing along the null direction
