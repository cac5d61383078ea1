"""Every optimizer against PyTorch's published update equations, written out in numpy.

The reference below computes its gradients one example at a time (tests/reference.py)
and applies the equations of ``torch.optim.SGD`` (momentum, dampening 0, nesterov) and
``torch.optim.Adam`` / ``AdamW`` as documented, with the weights in a parameter group of
``weight_decay = lmbda / n`` and the biases in one with no decay.
"""

import numpy as np
import pytest
from reference import backprop_one
from strategies import make_data

import wdecay
from wdecay import monitors as M
from wdecay.optim import SGD, Adam, AdamW, Momentum, Nesterov, get_optimizer
from wdecay.sweep import train_many


def torch_reference(w0, b0, X, Y, *, kind, eta, lmbda, batch, seed, epochs, mu=0.9,
                    betas=(0.9, 0.999), eps=1e-8):
    params = [w.copy() for w in w0] + [b.copy() for b in b0]
    L, n = len(w0), len(X)
    wd = [lmbda / n] * L + [0.0] * L
    buf = [None] * len(params)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    rng = np.random.default_rng(seed)
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            grads = [np.zeros_like(p) for p in params]
            ws, bs = params[:L], [b.reshape(-1, 1) for b in params[L:]]
            for i in idx:
                dw, db = backprop_one(ws, bs, X[i][:, None], Y[i][:, None])
                for j, g in enumerate(dw + [d.ravel() for d in db]):
                    grads[j] += g / len(idx)
            t += 1
            for j, (p, g) in enumerate(zip(params, grads)):
                if kind in ("sgd", "momentum", "nesterov"):  # torch.optim.SGD
                    g = g + wd[j] * p
                    if kind != "sgd":
                        buf[j] = g.copy() if buf[j] is None else mu * buf[j] + g
                        g = g + mu * buf[j] if kind == "nesterov" else buf[j]
                    params[j] = p - eta * g
                else:  # torch.optim.Adam (coupled) and AdamW (decoupled)
                    if kind == "adamw":
                        p = p * (1 - eta * wd[j])
                    else:
                        g = g + wd[j] * p
                    m[j] = betas[0] * m[j] + (1 - betas[0]) * g
                    v[j] = betas[1] * v[j] + (1 - betas[1]) * g * g
                    m_hat = m[j] / (1 - betas[0] ** t)
                    v_hat = v[j] / (1 - betas[1] ** t)
                    params[j] = p - eta * m_hat / (np.sqrt(v_hat) + eps)
    return params


CASES = [("sgd", SGD(decoupled=False), 0.5), ("momentum", Momentum(0.9), 0.1),
         ("nesterov", Nesterov(0.9), 0.1), ("nesterov", Momentum(0.9, nesterov=True), 0.1),
         ("adam", Adam(), 0.01), ("adamw", AdamW(), 0.01)]


@pytest.mark.parametrize("kind,optimizer,eta", CASES)
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_optimizer_matches_the_written_out_reference(kind, optimizer, eta, lmbda):
    X, y = make_data([5, 4, 3], 23, 0)
    net = wdecay.Network([5, 4, 3], initializer="large", seed=1)
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    net.fit(X, y, epochs=3, batch_size=5, eta=eta, regularizer=wdecay.L2(lmbda), seed=2,
            optimizer=optimizer)
    ref = torch_reference(w0, b0, X, np.eye(3)[y], kind=kind, eta=eta, lmbda=lmbda, batch=5,
                          seed=2, epochs=3)
    for a, b in zip(net.parameters(), ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_sgd_default_is_nielsen_bit_for_bit():
    X, y = make_data([5, 4, 3], 23, 0)
    nets = []
    for optimizer in (None, "sgd", SGD()):
        net = wdecay.Network([5, 4, 3], seed=1)
        net.fit(X, y, epochs=2, batch_size=5, eta=0.5, regularizer=wdecay.L1(3.0), seed=2,
                optimizer=optimizer)
        nets.append(net)
    for other in nets[1:]:
        for a, b in zip(nets[0].parameters(), other.parameters()):
            np.testing.assert_array_equal(a, b)


OPTIMIZERS = [SGD(), SGD(decoupled=False), Momentum(0.9), Momentum(0.9, decoupled=True),
              Nesterov(0.5), Adam(), AdamW(), Adam(decoupled=False)]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
@pytest.mark.parametrize("reg", [wdecay.L2(5.0), wdecay.L1(2.0), wdecay.NoRegularizer()], ids=repr)
def test_norm_budget_adds_up_for_every_optimizer(optimizer, reg):
    class Check(M.Monitor):
        worst = 0.0

        def on_batch_end(self, state):
            D, G, Q, measured = budget.last_step.T
            before = np.array([np.vdot(w, w) for w in state.weights_before])
            after = np.array([np.vdot(w, w) for w in state.weights])
            Check.worst = max(Check.worst, float(np.max(np.abs(D + G + Q - (after - before))
                                                        / after)))
            for w0, w1, d, u in zip(state.weights_before, state.weights, state.decay_update,
                                    state.gradient_update):
                np.testing.assert_allclose(w0 + d + u, w1, rtol=1e-12, atol=1e-14)

    X, y = make_data([6, 5, 3], 40, 0)
    budget = M.NormBudget()
    net = wdecay.Network([6, 5, 3], initializer="large", seed=0)
    net.fit(X, y, epochs=2, batch_size=7, eta=0.05, regularizer=reg, seed=0,
            monitors=[budget, Check()], optimizer=optimizer)
    assert Check.worst < 1e-12


def test_coupled_decay_share_is_the_decay_gradients_step():
    """Coupled momentum: D's step is -eta times the velocity of the decay gradients alone."""
    X, y = make_data([4, 3], 30, 0)
    lmbda, eta, mu = 5.0, 0.1, 0.9
    seen = []

    class Grab(M.Monitor):
        needs_weights_before = True

        def on_batch_end(self, state):
            seen.append((np.array(state.weights_before[0]), np.array(state.decay_update[0])))

    net = wdecay.Network([4, 3], seed=0)
    net.fit(X, y, epochs=1, batch_size=10, eta=eta, regularizer=wdecay.L2(lmbda), seed=0,
            monitors=[Grab()], optimizer=Momentum(mu))
    vd = 0.0
    for w, d in seen:
        vd = mu * vd + lmbda / 30 * w
        np.testing.assert_allclose(d, -eta * vd, rtol=1e-13)


def test_per_batch_and_fast_paths_agree():
    X, y = make_data([5, 4, 3], 23, 0)
    out = []
    for mons in ([], [M.LambdaMonitor(on_batch_end=lambda s: None)]):
        net = wdecay.Network([5, 4, 3], seed=1)
        net.fit(X, y, epochs=2, batch_size=5, eta=0.05, regularizer=wdecay.L2(5.0), seed=2,
                optimizer=Adam(), monitors=mons)
        out.append(net)
    for a, b in zip(out[0].parameters(), out[1].parameters()):
        np.testing.assert_array_equal(a, b)


def test_registry_and_errors():
    assert get_optimizer("AdamW") == AdamW() and get_optimizer("nesterov") == Nesterov()
    assert get_optimizer("momentum", momentum=0.5).momentum == 0.5
    with pytest.raises(ValueError, match="'adam', 'adamw', 'lion', 'momentum', 'nesterov', 'sgd'"):
        get_optimizer("rmsprop")
    with pytest.raises(ValueError, match="`momentum` must be < 1"):
        Momentum(1.0)
    with pytest.raises(ValueError, match="`beta2` must be < 1"):
        Adam(beta2=1.5)
    with pytest.raises(ValueError, match="`eps` must be > 0"):
        Adam(eps=0.0)
    X, y = make_data([4, 3], 20, 0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        wdecay.Network([4, 3]).fit(X, y, epochs=1, batch_size=5, eta=0.1, optimizer="bogus")


def test_train_many_refuses_other_optimizers_clearly():
    X, y = make_data([4, 3], 20, 0)
    with pytest.raises(ValueError, match="plain SGD only.*wdecay.fit"):
        train_many(X, y, [dict(eta=0.1)], sizes=[4, 3], epochs=1, batch_size=5,
                   optimizer=Adam())
    nets, _ = train_many(X, y, [dict(eta=0.1, init_seed=0)], sizes=[4, 3], epochs=1,
                         batch_size=5, optimizer="sgd")
    assert len(nets) == 1


def test_coupled_optimizers_take_any_lmbda_the_decoupled_factor_refuses():
    """Coupled decay never multiplies by 1 - eta lmbda/n, so its range does not apply."""
    rng = np.random.default_rng(0)
    X, y = rng.random((10, 3)), rng.integers(0, 2, 10)
    for opt in (wdecay.optim.Adam(), wdecay.optim.Momentum(0.9)):
        wdecay.Network([3, 2], seed=0).fit(X, y, epochs=1, batch_size=5, eta=0.2,
                                           regularizer=wdecay.L2(60.0), optimizer=opt)
    with pytest.raises(ValueError, match="decay factor"):
        wdecay.Network([3, 2], seed=0).fit(X, y, epochs=1, batch_size=5, eta=0.2,
                                           regularizer=wdecay.L2(60.0), optimizer="adamw")
