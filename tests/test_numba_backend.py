"""The compiled epoch agrees with wdecay's numpy step; it is disk-cached; it imports without numba.

Agreement is measured per parameter array as max|w_numba - w_numpy| <= tol * max|w_numpy|,
with tol = 1e-12 in float64 and 1e-4 in float32 (float32 rounds at 6e-8 per operation,
and the two paths sum the products in different orders).
"""

import contextlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wdecay
from wdecay.datasets import load_mnist_sample
from wdecay.numba_backend import FOLD_LIMIT, NumbaEpoch, available
from wdecay.regularizers import SMALL_FACTOR


def warns_if_small(decay):
    """fit warns that a decay factor below SMALL_FACTOR removes more than half of every weight."""
    if decay < SMALL_FACTOR:
        return pytest.warns(UserWarning, match="removes more than half of every weight")
    return contextlib.nullcontext()

needs_numba = pytest.mark.skipif(not available(), reason="numba is not installed")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COST_NAMES = ["cross-entropy", "quadratic", "log-likelihood"]


def make_data(n, n_in, n_out, density, seed, dtype):
    """Inputs in [0, 1) with about ``density`` of them non-zero, and integer labels."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_in)) * (rng.random((n, n_in)) < density)
    return X.astype(dtype), rng.integers(0, n_out, n)


def train_both(sizes, cost, dtype, n, batch, eta, decay, epochs, seed, density, sparse,
               limit=None):
    """Train one network with wdecay.fit and a copy with NumbaEpoch, on the same orders.

    ``decay`` is the per-step factor 1 - eta lmbda / n; lmbda is chosen to give it.
    ``limit`` replaces the fold-back limit of the lazy scale (to fold often).
    Returns both networks and the NumbaEpoch.
    """
    X, y = make_data(n, sizes[0], sizes[-1], density, seed, dtype)
    net = wdecay.Network(sizes, cost=cost, seed=seed, dtype=dtype)
    fast = net.copy()
    lmbda = (1.0 - decay) * n / eta
    regularizer = wdecay.L2(lmbda) if lmbda > 0 else None
    wdecay.fit(net, X, y, epochs=epochs, batch_size=batch, eta=eta, regularizer=regularizer,
               seed=seed, backend="numpy")
    Y = np.eye(sizes[-1], dtype=dtype)[y]
    epoch = NumbaEpoch(fast, X, Y, batch, sparse=sparse)
    epoch.limit = epoch.limit if limit is None else limit
    factor = 1.0 - eta * lmbda / n if lmbda > 0 else 1.0  # as L2.decay computes it
    rng = np.random.default_rng(seed)  # fit draws rng.permutation(n) per epoch
    for _ in range(epochs):
        epoch.run(rng.permutation(n), eta, factor)
    return net, fast, epoch


def assert_close(fast, net, tol):
    for i, (a, b) in enumerate(zip(fast.parameters(), net.parameters())):
        assert a.dtype == b.dtype and a.shape == b.shape
        err = np.max(np.abs(a - b))
        assert err <= tol * np.max(np.abs(b)), f"parameter {i}: error {err:.3g}"


@pytest.mark.slow
@needs_numba
@settings(max_examples=30, deadline=None)
@given(hidden=st.lists(st.integers(1, 33), min_size=0, max_size=2),
       n_in=st.integers(1, 12), n_out=st.integers(2, 5), n=st.integers(1, 40),
       batch=st.integers(1, 12), eta=st.floats(0.01, 1.0),
       decay=st.sampled_from([1.0, 0.99999, 0.9, 1e-3]),
       cost=st.sampled_from(COST_NAMES), density=st.sampled_from([1.0, 0.3]),
       sparse=st.booleans(), limit=st.sampled_from([None, 0.7]),
       seed=st.integers(0, 2**32 - 1))
def test_float64_agrees_with_numpy_step(hidden, n_in, n_out, n, batch, eta, decay, cost,
                                        density, sparse, limit, seed):
    """limit 0.7 folds the lazy scale back every few steps at decay 0.9."""
    with warns_if_small(decay):
        net, fast, _ = train_both([n_in, *hidden, n_out], cost, np.float64, n, batch, eta, decay,
                                  epochs=4, seed=seed, density=density, sparse=sparse, limit=limit)
    assert_close(fast, net, 1e-12)


@needs_numba
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), batch=st.integers(1, 12), eta=st.floats(0.01, 1.0),
       decay=st.sampled_from([1.0, 0.999, 1e-3]), cost=st.sampled_from(COST_NAMES),
       sparse=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_float32_agrees_with_numpy_step(n, batch, eta, decay, cost, sparse, seed):
    with warns_if_small(decay):
        net, fast, _ = train_both([9, 5, 3], cost, np.float32, n, batch, eta, decay, epochs=3,
                                  seed=seed, density=0.5, sparse=sparse)
    assert_close(fast, net, 1e-4)


@needs_numba
@pytest.mark.parametrize("sparse", [False, True])
def test_fold_back_at_the_default_limit_keeps_the_weights_finite(sparse):
    """Decay 1e-3 per step: s = 1e-3^k leaves [1e-100, 1e100] at step 34 of 60 per epoch.

    Without the fold, s would underflow to 0 and the update g / s make the weights inf.
    """
    assert 1e-3 ** 34 < FOLD_LIMIT[np.float64] < 1e-3 ** 33
    with warns_if_small(1e-3):
        net, fast, _ = train_both([20, 6, 4], "cross-entropy", np.float64, 600, 10, 0.5, 1e-3,
                                  epochs=2, seed=3, density=0.4, sparse=sparse)
    assert_close(fast, net, 1e-12)


@needs_numba
@pytest.mark.parametrize("limit", [None, 0.5])
def test_fold_back_with_moderate_decay_keeps_agreement(limit):
    """Decay 0.9 per step: limit 0.5 folds every 7 steps; the weights remember the folds."""
    net, fast, _ = train_both([12, 5, 3], "cross-entropy", np.float64, 400, 10, 1.0, 0.9,
                              epochs=2, seed=4, density=0.5, sparse=False, limit=limit)
    assert_close(fast, net, 1e-12)


@needs_numba
def test_tiny_decay_factor_is_exact_too():
    """A factor of 0.01 nearly zeroes the weights every step (fit refuses 0 and warns here)."""
    with pytest.warns(UserWarning, match="decay factor"):
        net, fast, _ = train_both([6, 4, 3], "quadratic", np.float64, 30, 7, 0.5, 0.01,
                                  epochs=3, seed=5, density=1.0, sparse=False)
    assert_close(fast, net, 1e-12)


@needs_numba
def test_density_threshold_chooses_csr():
    from wdecay.numba_backend import SPARSE_DENSITY

    net = wdecay.Network([8, 3, 2], seed=0)
    Y = np.eye(2)[[0, 1, 0, 1]]
    X = np.zeros((4, 8))
    X[:, 0] = 1.0  # density 1/8
    assert 1 / 8 < SPARSE_DENSITY[np.float64] < 1 / 2
    assert NumbaEpoch(net, X, Y, 2).sparse
    X[:, 1:4] = 1.0  # density 1/2
    assert not NumbaEpoch(net, X, Y, 2).sparse
    X[:, 1:4] = 0.0
    assert not NumbaEpoch(net, np.ones((4, 8)), Y, 2).sparse
    assert NumbaEpoch(net, X, Y, 2).density == 1 / 8


@needs_numba
def test_real_digits_csr_and_dense_agree_with_numpy():
    """The embedded MNIST sample (19% non-zero), [784, 30, 10], batch 10, Nielsen's L2(5)."""
    (X, y), _, _ = load_mnist_sample()
    X, y = X[:1000], y[:1000]
    nets = []
    for sparse in (False, True):
        net = wdecay.Network([784, 30, 10], seed=1)
        epoch = NumbaEpoch(net, X, np.eye(10)[y], 10, sparse=sparse)
        rng = np.random.default_rng(2)
        for _ in range(2):
            epoch.run(rng.permutation(len(X)), 0.5, 1.0 - 0.5 * 5.0 / len(X))
        nets.append(net)
    ref = wdecay.Network([784, 30, 10], seed=1)
    ref.fit(X, y, epochs=2, batch_size=10, eta=0.5, regularizer=wdecay.L2(5.0), seed=2)
    for net in nets:
        assert_close(net, ref, 1e-12)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gemm_call_matches_numpy_for_every_transposition(dtype):
    """The kernel's BLAS call, column-major: C <- alpha op(A) op(B) + beta C, in place."""
    import numba

    from wdecay import numba_backend

    numba_backend._kernel()  # binds the BLAS symbols and builds _gemm
    gemm = numba_backend._gemm

    @numba.njit
    def call(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    rng = np.random.default_rng(0)
    m, n, k = 3, 4, 5
    for ta in (False, True):
        for tb in (False, True):
            # C-contiguous arrays, read as their column-major transposes
            a = rng.standard_normal((m, k) if ta else (k, m)).astype(dtype)
            b = rng.standard_normal((k, n) if tb else (n, k)).astype(dtype)
            c = rng.standard_normal((n, m)).astype(dtype)
            op_a = a if ta else a.T  # op(A) as an (m, k) matrix
            op_b = b if tb else b.T
            expected = (-0.5 * op_a @ op_b + 0.25 * c.T).T
            call(ta, tb, m, n, k, -0.5, a, a.shape[1], b, b.shape[1], 0.25, c, m)
            np.testing.assert_allclose(c, expected, rtol=1e-5 if dtype == np.float32 else 1e-13)


def test_unsupported_runs_say_why():
    net = wdecay.Network([4, 3, 2], seed=0)
    reason = NumbaEpoch.unsupported_reason
    if not available():
        assert "pip install" in reason(net, None, False)
        return
    assert reason(net, None, False) is None
    assert reason(net, wdecay.L2(1.0), False) is None
    assert "L2" in reason(net, wdecay.L1(1.0), False)
    assert "per-batch" in reason(net, None, True)
    assert "SGD" in reason(net, None, False, optimizer=object())
    assert "SGD" in reason(net, None, False, optimizer=wdecay.optim.Momentum(0.9))
    assert reason(net, None, False, optimizer=wdecay.optim.SGD()) is None

    class MyL2(wdecay.L2):  # a subclass decays by its factor: the kernel serves it
        pass

    assert reason(net, MyL2(1.0), False) is None
    assert "sigmoid" in reason(wdecay.Network([4, 3, 2], activation="tanh"), None, False)
    assert reason(wdecay.Network([4, 3, 2], dtype=np.float32), None, False) is None

    class MyCost(wdecay.costs.CrossEntropyCost):
        pass

    assert "costs" in reason(wdecay.Network([4, 3, 2], cost=MyCost()), None, False)


@needs_numba
def test_bad_arrays_name_the_parameter():
    net = wdecay.Network([4, 3, 2], seed=0)
    Y = np.eye(2)[[0, 1]]
    with pytest.raises(ValueError, match="`X` must be a C-contiguous float64"):
        NumbaEpoch(net, np.ones((2, 4), np.float32), Y, 1)
    with pytest.raises(ValueError, match="`Y` must be"):
        NumbaEpoch(net, np.ones((2, 4)), Y[:, :1], 1)
    epoch = NumbaEpoch(net, np.ones((2, 4)), Y, 1)
    with pytest.raises(ValueError, match=r"`order` must be a 1-d array of 2 row indices, got "
                                         r"shape \(3,\)"):
        epoch.run(np.arange(3), 0.1, 1.0)
    with pytest.raises(ValueError, match=r"`order` must hold row indices in \[0, 2\), "
                                         r"got \[1, 2\]"):
        epoch.run(np.array([1, 2]), 0.1, 1.0)


def _python(code, **env):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": ROOT, **env},
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_imports_and_reports_unavailable_without_numba():
    out = _python("""
        import sys
        sys.modules["numba"] = None  # import numba now raises ImportError
        import wdecay
        from wdecay.numba_backend import NumbaEpoch, available
        print(available(), NumbaEpoch.unsupported_reason(wdecay.Network([3, 2]), None, False))
    """)
    assert out.startswith("False the numba backend needs numba")


@pytest.mark.slow
@needs_numba
def test_second_process_loads_the_kernel_from_the_disk_cache(tmp_path):
    code = """
        import numpy as np, wdecay
        from wdecay.numba_backend import NumbaEpoch
        net = wdecay.Network([5, 3, 2], seed=0)
        epoch = NumbaEpoch(net, np.ones((4, 5)), np.eye(2)[[0, 1, 0, 1]], 2)
        epoch.run(np.arange(4), 0.1, 0.99)
        stats = epoch.kernel.stats
        print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
    """
    cache = str(tmp_path)
    assert _python(code, NUMBA_CACHE_DIR=cache).split() == ["0", "1"]  # compiled, saved
    assert any(name.endswith(".nbc") for _, _, files in os.walk(cache) for name in files)
    assert _python(code, NUMBA_CACHE_DIR=cache).split() == ["1", "0"]  # loaded, no compile


# -- fit(backend=...) ---------------------------------------------------------------
def fit_copy(net, X, y, backend, **kw):
    other = net.copy()
    h = other.fit(X, y, epochs=2, batch_size=7, eta=0.3, seed=1, backend=backend, **kw)
    return other, h


def test_fit_backends_agree_and_auto_falls_back_silently():
    X, y = make_data(50, 6, 3, 0.5, 0, np.float64)
    net = wdecay.Network([6, 5, 3], seed=0)
    ref, h_ref = fit_copy(net, X, y, "numpy", regularizer=wdecay.L2(2.0))
    auto, h_auto = fit_copy(net, X, y, "auto", regularizer=wdecay.L2(2.0))
    assert_close(auto, ref, 1e-12)
    assert h_auto["epoch"].tolist() == h_ref["epoch"].tolist() == [0, 1, 2]
    # runs the kernel cannot serve fall back to numpy under "auto", bit for bit
    for kw in ({"regularizer": wdecay.L1(2.0)}, {"optimizer": "adam"},
               {"monitors": wdecay.monitors.NormBudget(), "regularizer": wdecay.L2(2.0)}):
        a, _ = fit_copy(net, X, y, "auto", **kw)
        b, _ = fit_copy(net, X, y, "numpy", **kw)
        for p, q in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(p, q)


@needs_numba
def test_fit_backend_numba_uses_the_kernel(monkeypatch):
    calls = []
    original = NumbaEpoch.run
    monkeypatch.setattr(NumbaEpoch, "run",
                        lambda self, *a, **kw: calls.append(1) or original(self, *a, **kw))
    X, y = make_data(30, 4, 2, 1.0, 0, np.float64)
    wdecay.Network([4, 3, 2], seed=0).fit(X, y, epochs=3, batch_size=5, eta=0.1, backend="numba")
    assert len(calls) == 3
    wdecay.Network([4, 3, 2], seed=0).fit(X, y, epochs=3, batch_size=5, eta=0.1, backend="auto")
    assert len(calls) == 6
    wdecay.Network([4, 3, 2], seed=0).fit(X, y, epochs=3, batch_size=5, eta=0.1, backend="numpy")
    assert len(calls) == 6


def test_fit_backend_errors_say_why():
    X, y = make_data(30, 4, 2, 1.0, 0, np.float64)
    net = wdecay.Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match="`backend` must be one of 'auto', 'numpy', 'numba'"):
        net.fit(X, y, epochs=1, batch_size=5, eta=0.1, backend="gpu")
    with pytest.raises(ValueError, match="backend='numba' cannot run this training: .*"
                                         + ("per-batch" if available() else "pip install")):
        net.fit(X, y, epochs=1, batch_size=5, eta=0.1, backend="numba",
                monitors=wdecay.monitors.NormBudget())


def test_auto_falls_back_for_fortran_ordered_weights():
    X, y = make_data(30, 4, 2, 1.0, 0, np.float64)
    net = wdecay.Network([4, 3, 2], seed=0)
    ref = net.copy()
    net.weights[0] = np.asfortranarray(net.weights[0])
    net.fit(X, y, epochs=1, batch_size=5, eta=0.2, seed=0)
    ref.fit(X, y, epochs=1, batch_size=5, eta=0.2, seed=0, backend="numpy")
    for a, b in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_cost_declares_its_kernel_and_one_without_is_refused_in_one_line():
    """The kernel's branch is the cost class's own kernel_id: a subclass that does not declare
    one is refused (it may have changed delta), one that does runs that branch."""
    from wdecay.costs import COSTS, CrossEntropyCost
    from wdecay.numba_backend import cost_kernel_id

    assert {name: cost_kernel_id(cls()) for name, cls in COSTS.items()} == {
        "quadratic": 1, "cross-entropy": 0, "log-likelihood": 2}

    class Changed(CrossEntropyCost, register=False):
        def delta(self, z, a, y, out=None):
            return 2.0 * np.subtract(a, y, out=out)

    class Same(CrossEntropyCost, register=False):
        kernel_id = 0

    net = wdecay.Network([4, 3, 2], cost=Changed(), seed=0)
    reason = NumbaEpoch.unsupported_reason(net, None, per_batch_monitors=False)
    if available():
        assert reason == ("the numba backend has no kernel for the cost Changed(): its class "
                          "declares no kernel_id (see wdecay.costs.Cost.kernel_id)")
        X, y = make_data(30, 4, 2, 1.0, 0, np.float64)
        with pytest.raises(ValueError, match=r"backend='numba' cannot run this training: "
                                             r"the numba backend has no kernel for the cost"):
            wdecay.fit(net, X, y, epochs=1, batch_size=5, eta=0.1, backend="numba")
        a, b = wdecay.Network([4, 3, 2], cost=Same(), seed=0), wdecay.Network([4, 3, 2], seed=0)
        for n in (a, b):
            wdecay.fit(n, X, y, epochs=2, batch_size=5, eta=0.1, seed=0, backend="numba")
        assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@needs_numba
@pytest.mark.parametrize("change", ["float32", "read-only", "shape", "depth"])
def test_arrays_replaced_after_preparing_are_refused(change):
    """The kernel writes without bounds checks: a network whose arrays were replaced after
    the epoch was prepared (another dtype, read-only, another shape or depth) gets a
    one-line refusal, and its arrays are left as they were."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 30))
    Y = np.eye(10)[rng.integers(0, 10, 64)]
    net = wdecay.Network([30, 20, 10], seed=0)
    epoch = NumbaEpoch(net, X, Y, 16)
    epoch.run(np.arange(64), 0.5, 1.0)
    if change == "float32":
        net.weights = [w.astype(np.float32) for w in net.weights]
        net.biases = [b.astype(np.float32) for b in net.biases]
    elif change == "read-only":
        net.weights[1].setflags(write=False)
    elif change == "shape":
        net.weights[1] = np.zeros((10, 21))
    else:
        net.weights, net.biases = net.weights[:1], net.biases[:1]
    before = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match="the numba epoch was prepared for"):
        epoch.run(np.arange(64), 0.5, 1.0)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights))
