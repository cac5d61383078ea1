"""The regularizer contract: factor, shrink, penalty and gradient; a new one in one class."""

import warnings

import numpy as np
import pytest
from extensions import ElasticNet
from strategies import make_data

import wdecay
from wdecay import monitors as M
from wdecay.regularizers import L1, L2, NoRegularizer, Regularizer, get_regularizer
from wdecay.sweep import train_many


class MyL2(L2, register=False):
    """A subclass with its own name (not registered): it must decay exactly as L2 does."""

    name = "mine"


def test_l2_and_l1_need_a_value():
    for make in (L2, L1, lambda: get_regularizer("l2"), lambda: get_regularizer("L1")):
        with pytest.raises(TypeError, match=r"wdecay\.L[12]\(5\.0\)"):
            make()
    assert get_regularizer("none") == NoRegularizer()
    assert get_regularizer("l2", 0.0) == L2(0.0)


def test_factor_refuses_nonpositive_and_warns_below_half():
    with pytest.raises(ValueError, match=r"eta=0\.5, lmbda=1000\.0, n=200"):
        L2(1000.0).factor(0.5, 200)
    with pytest.warns(UserWarning, match="more than half"):
        assert L2(300.0).factor(0.5, 200) == pytest.approx(0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert L2(5.0).factor(0.1, 50) == 1.0 - 0.1 * 5.0 / 50
        assert L1(5.0).factor(0.1, 50) == 1.0 and NoRegularizer().factor(0.1, 50) == 1.0


def test_fit_refuses_a_factor_that_flips_the_weights():
    X, y = make_data([4, 3], 200, 0)
    net = wdecay.Network([4, 3], seed=0)
    w0 = net.weights[0].copy()
    with pytest.raises(ValueError, match="decay factor"):
        net.fit(X, y, epochs=3, batch_size=10, eta=0.5, regularizer=L2(1000.0))
    np.testing.assert_array_equal(net.weights[0], w0)  # refused before any step


def test_has_shrink_and_generic_decay():
    assert not L2(1.0).has_shrink and not NoRegularizer().has_shrink
    assert L1(1.0).has_shrink and ElasticNet(1.0, 1.0).has_shrink
    w = np.array([[0.5, -0.01], [2.0, 0.0]])
    for reg in (L2(3.0), L1(3.0), L1(3.0, clip=True), ElasticNet(1.0, 2.0), NoRegularizer()):
        d = reg.decay_step(w, 0.1, 10)
        v = w.copy()
        reg.decay(v, 0.1, 10)
        np.testing.assert_array_equal(v, w + d)
    np.testing.assert_allclose(L2(3.0).decay_step(w, 0.1, 10), -0.03 * w, rtol=1e-14)
    np.testing.assert_allclose(L1(3.0).decay_step(w, 0.1, 10), -0.03 * np.sign(w), rtol=1e-14)


def test_l1_sign_step_against_clip():
    """Nielsen's sign step overshoots a small weight; the proximal step stops at zero."""
    w = np.array([0.1, -0.01, 0.0])
    sign, clip = w.copy(), w.copy()
    L1(1.0).decay(sign, eta=0.5, n=10)
    L1(1.0, clip=True).decay(clip, eta=0.5, n=10)
    np.testing.assert_allclose(sign, [0.05, 0.04, 0.0])
    np.testing.assert_allclose(clip, [0.05, 0.0, 0.0])
    assert L1(1.0) != L1(1.0, clip=True)
    with pytest.raises(TypeError, match="clip"):
        L1(1.0, clip="yes")


def test_penalty_gradient_and_penalized():
    w = [np.array([[1.0, -2.0]]), np.array([[3.0]])]
    assert L2(2.0).penalty(w, 4) == pytest.approx(0.5 * 2.0 / 4 * 14)
    assert L1(2.0).penalty(w, 4) == pytest.approx(2.0 / 4 * 6)
    assert L2(2.0).penalized(w) == 14.0 and L1(2.0).penalized(w) == 6.0
    assert NoRegularizer().penalized(w) == 0.0
    en = ElasticNet(1.0, 2.0)
    assert en.lmbda is None and en.penalized(w) == pytest.approx(en.penalty(w, 1))


def elastic_reference(w0, b0, X, Y, eta, en, batch, seed, epochs):
    """Elastic-net SGD one example at a time: the reference module's network, own decay."""
    from reference import backprop_one
    weights, biases = [w.copy() for w in w0], [b.reshape(-1, 1).copy() for b in b0]
    n = len(X)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            gw = [np.zeros_like(w) for w in weights]
            gb = [np.zeros_like(b) for b in biases]
            for i in idx:
                dw, db = backprop_one(weights, biases, X[i][:, None], Y[i][:, None])
                gw = [a + d for a, d in zip(gw, dw)]
                gb = [a + d for a, d in zip(gb, db)]
            weights = [(1 - eta * en.l2 / n) * w - eta * en.l1 / n * np.sign(w) - eta / len(idx) * g
                       for w, g in zip(weights, gw)]
            biases = [b - eta / len(idx) * g for b, g in zip(biases, gb)]
    return weights


def test_elastic_net_in_fit_and_train_many():
    X, y = make_data([5, 4, 3], 41, 0)
    en = ElasticNet(1.0, 3.0)
    net = wdecay.Network([5, 4, 3], initializer="large", seed=1)
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    net.fit(X, y, epochs=2, batch_size=6, eta=0.3, regularizer=en, seed=2)
    ref = elastic_reference(w0, b0, X, np.eye(3)[y], 0.3, en, 6, 2, 2)
    for a, b in zip(net.weights, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    nets, _ = train_many(X, y, [dict(eta=0.3, regularizer=en, initializer="large", init_seed=1),
                                dict(eta=0.3, lmbda=2.0, initializer="large", init_seed=1)],
                         sizes=[5, 4, 3], epochs=2, batch_size=6, seed=2)
    for a, b in zip(nets[0].parameters(), net.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_elastic_net_in_monitors():
    X, y = make_data([5, 4, 3], 41, 0)
    en = ElasticNet(1.0, 3.0)

    class Check(M.Monitor):
        worst = 0.0

        def on_batch_end(self, state):
            D, G, Q, measured = budget.last_step.T
            Check.worst = max(Check.worst, float(np.max(np.abs(D + G + Q - measured))))

    budget, pred = M.NormBudget(), M.DecayPrediction()
    net = wdecay.Network([5, 4, 3], initializer="large", seed=1)
    w0 = [w.copy() for w in net.weights]
    h = net.fit(X, y, epochs=2, batch_size=6, eta=0.3, regularizer=en, seed=2,
                monitors=[budget, Check(), pred, M.WeightNorms()])
    assert Check.worst < 1e-12 * max(float(np.vdot(w, w)) for w in w0)
    total = h["layer1/budget_D"] + h["layer1/budget_G"] + h["layer1/budget_Q"]
    np.testing.assert_allclose(total[1:], h["layer1/budget_measured"][1:], rtol=1e-10)
    # pure decay for 2 epochs of 7 steps, by hand
    w = w0[0].copy()
    for _ in range(2 * 7):
        w = (1 - 0.3 * 3.0 / 41) * w - 0.3 * 1.0 / 41 * np.sign(w)
    assert h["layer1/predicted_rms"][-1] == pytest.approx(np.sqrt(np.mean(w ** 2)), rel=1e-12)
    assert h["total/penalized"][-1] == pytest.approx(en.penalty(net.weights, 1))


def test_elastic_net_in_convex_is_refused_clearly():
    from wdecay.convex import fit_optimum
    X, y = make_data([3, 2], 20, 0)
    with pytest.raises(ValueError, match="ElasticNet.*L2 or L1"):
        fit_optimum(X, y, 1.0, penalty=ElasticNet(1.0, 1.0))
    a = fit_optimum(X, y, 1.0, penalty=MyL2(1.0))
    b = fit_optimum(X, y, 1.0, penalty="l2")
    np.testing.assert_array_equal(a.weights, b.weights)


def test_subclass_with_own_name_decays_in_train_many():
    """The bug of issue 11: train_many found the decay by name, so MyL2 trained undecayed."""
    X, y = make_data([5, 4, 3], 60, 0)
    nets, _ = train_many(X, y, [dict(eta=0.5, regularizer=MyL2(50.0), init_seed=1),
                                dict(eta=0.5, regularizer=L2(50.0), init_seed=1)],
                         sizes=[5, 4, 3], epochs=3, batch_size=10, seed=0)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_array_equal(a, b)
    net = wdecay.Network([5, 4, 3], seed=1)
    net.fit(X, y, epochs=3, batch_size=10, eta=0.5, regularizer=MyL2(50.0), seed=0)
    for a, b in zip(nets[0].parameters(), net.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_stacked_decay_is_each_networks_own_decay_bit_for_bit():
    """StackedDecay decays network k of a stack exactly as regularizers[k].decay decays it
    alone, in float64 and float32; factors=False leaves the factor-only networks alone."""
    from wdecay.regularizers import StackedDecay

    class Elastic(Regularizer):
        def __init__(self, l1, l2):
            self.l1, self.l2 = l1, l2

        def factor(self, eta, n):
            return self.check_factor(1.0 - eta * self.l2 / n, eta, n)

        def shrink(self, w, eta, n):
            w -= eta * self.l1 / n * np.sign(w)

    regs = [L2(3.0), L1(1.0), NoRegularizer(), Elastic(1.0, 2.0), L1(2.0, clip=True)]
    for dtype in (np.float64, np.float32):
        etas = np.array([0.1, 0.3, 0.5, 0.2, 0.4], dtype=dtype)
        W = np.random.default_rng(0).standard_normal((5, 4, 3)).astype(dtype)
        alone = [w.copy() for w in W]
        for w, reg, eta in zip(alone, regs, etas):
            reg.decay(w, float(eta), 10)
        decay = StackedDecay(regs, etas, 10)
        assert decay.factors.dtype == dtype
        assert decay.factors.tolist() == [dtype(1 - 0.1 * 3.0 / 10), 1.0, 1.0, 1.0, 1.0]
        lazy = W.copy()
        decay(W)
        for w, a in zip(W, alone):
            assert np.array_equal(w, a)
        decay(lazy, factors=False)  # factors kept elsewhere: network 0 untouched
        assert np.array_equal(lazy[1:], W[1:]) and not np.array_equal(lazy[0], W[0])


def test_stacked_decay_checks_each_factor_once_and_calls_an_own_decay():
    """The factors are computed (and checked) once; every step passes a_k to the regularizer's
    decay, except to a class that writes its own decay, which is called as it is."""
    from wdecay.regularizers import StackedDecay

    calls = {"factor": 0, "decay": 0}

    class CountingL1(L1):
        def factor(self, eta, n):
            calls["factor"] += 1
            return super().factor(eta, n)

    class OwnDecay(L1):
        def decay(self, w, eta, n):
            calls["decay"] += 1
            super().decay(w, eta, n)

    decay = StackedDecay([CountingL1(1.0), OwnDecay(1.0)], np.array([0.1, 0.1]), 10)
    W = np.ones((2, 3, 3))
    for _ in range(5):
        decay(W)
    assert calls == {"factor": 1, "decay": 5}
    assert np.array_equal(W[0], W[1]) and W[0, 0, 0] == 1.0 - 5 * 0.01
