"""What a user adds outside the package: a transform (RMSprop), a stateful monitor, Lion, and
an elastic net with two settings (``l1`` and ``l2``, no single lmbda).

Each trains in ``fit``; ``train_many`` trains the elastic net and refuses what it cannot
run in one line;
the norm budget D + G + Q = delta ||W||^2 holds to 1e-12 at every step, and a run
split in two with the saved states equals the uninterrupted run bit for bit.
"""

import numpy as np
import pytest
from extensions import ElasticNet, RMSprop

import wdecay
from wdecay import monitors as M
from wdecay import transforms as T
from wdecay.optim import Lion, Optimizer
from wdecay.sweep import train_many


class WithoutSplit(T.Transform):
    """A transform that cannot say what it did to the decay's share."""

    def update(self, grads, state, params):
        return [np.tanh(g) for g in grads], state


class BudgetCheck(M.Monitor):
    """D + G + Q against the measured change of ||W||^2, and w0 + d + u = w1, at every step."""

    def __init__(self, budget):
        self.budget, self.worst = budget, 0.0

    def on_batch_end(self, state):
        D, G, Q, measured = self.budget.last_step.T
        before = np.array([np.vdot(w, w) for w in state.weights_before])
        after = np.array([np.vdot(w, w) for w in state.weights])
        self.worst = max(self.worst, float(np.max(np.abs(D + G + Q - (after - before)) / after)))
        for w0, w1, d, u in zip(state.weights_before, state.weights, state.decay_update,
                                state.gradient_update):
            np.testing.assert_allclose(w0 + d + u, w1, rtol=1e-12, atol=1e-14)


class Counter(M.Monitor):
    """A monitor with state: the running total of ||W1||^2 over the epochs it saw."""

    def on_train_begin(self, state):
        if len(state.history) == 0 or not hasattr(self, "total"):
            self.total = 0.0

    def on_epoch_end(self, state):
        self.total += float(np.vdot(state.weights[0], state.weights[0]))
        return {"total_w1_sq": self.total}

    def state_dict(self):
        return {"total": self.total}

    def load_state_dict(self, state):
        self.total = float(state["total"])


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((45, 6)), rng.integers(0, 3, 45)


OPTIMIZERS = {
    "rmsprop coupled": lambda: Optimizer(core=[RMSprop()], decoupled=False),
    "rmsprop decoupled": lambda: Optimizer(core=[RMSprop()], decoupled=True),
    "momentum then rmsprop": lambda: Optimizer(core=[T.trace(0.5), RMSprop()], decoupled=False),
    "lion": lambda: Lion(),
}
REGULARIZERS = [wdecay.L2(4.0), wdecay.L1(1.0), ElasticNet(l1=1.0, l2=4.0)]


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_norm_budget_holds_for_a_chain_the_library_does_not_ship(make, reg):
    X, y = _data()
    budget = M.NormBudget()
    check = BudgetCheck(budget)
    net = wdecay.Network([6, 5, 3], initializer="large", seed=0)
    h = net.fit(X, y, epochs=2, batch_size=7, eta=0.01, regularizer=reg, seed=0,
                monitors=[budget, check], optimizer=make())
    assert check.worst < 1e-12
    assert np.all(np.isfinite(h["layer1/budget_D"][1:])) and np.all(h["layer1/budget_D"][1:] < 0)


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_split_run_with_saved_states_equals_the_whole_run(make):
    X, y = _data()
    kw = dict(batch_size=7, eta=0.01, regularizer=wdecay.L2(4.0), backend="numpy")
    whole = wdecay.Network([6, 5, 3], seed=1)
    counter = Counter()
    h_whole = whole.fit(X, y, epochs=4, seed=np.random.default_rng(3), optimizer=make(),
                        monitors=[counter, M.NormBudget()], **kw)
    rng = np.random.default_rng(3)
    split = wdecay.Network([6, 5, 3], seed=1)
    first_opt, first_counter, first_budget = make(), Counter(), M.NormBudget()
    history = split.fit(X, y, epochs=2, seed=rng, optimizer=first_opt,
                        monitors=[first_counter, first_budget], **kw)
    # a fresh optimizer and monitor, as after a restart, given the saved states
    opt, counter2, budget2 = make(), Counter(), M.NormBudget()
    opt.load_state_dict(first_opt.state_dict())
    counter2.load_state_dict(first_counter.state_dict())
    budget2.load_state_dict(first_budget.state_dict())
    split.fit(X, y, epochs=2, seed=rng, optimizer=opt, monitors=[counter2, budget2],
              history=history, reset_optimizer=False, **kw)
    for a, b in zip(whole.parameters(), split.parameters()):
        np.testing.assert_array_equal(a, b)
    for key in h_whole.keys():
        np.testing.assert_array_equal(np.asarray(history[key], float),
                                      np.asarray(h_whole[key], float), err_msg=key)


def test_the_transforms_work_on_their_own_like_optax():
    params = [np.array([[1.0, -2.0]]), np.array([0.5])]
    t = T.chain(T.add_decay(wdecay.L2(2.0), n=4), RMSprop(), T.scale(-0.1))
    state = t.init(params)
    grads = [np.array([[0.3, 0.0]]), np.array([1.0])]
    updates, state = t.update([g.copy() for g in grads], state, params)
    g_total = grads[0] + 0.5 * params[0]  # (lmbda/n) w on the weights; the bias is masked out
    expected = -0.1 * g_total / (np.sqrt(0.1 * g_total ** 2) + 1e-8)
    np.testing.assert_allclose(updates[0], expected, rtol=1e-14)
    np.testing.assert_allclose(updates[1], -0.1 * 1.0 / (np.sqrt(0.1) + 1e-8), rtol=1e-14)
    share, state = t.split([None, None], state, params)
    np.testing.assert_allclose(share[0], -0.1 * 0.5 * params[0] / (np.sqrt(0.1 * g_total ** 2)
                                                                     + 1e-8), rtol=1e-14)
    assert share[1] is None


def test_where_the_decay_sits_decides_coupled_or_decoupled():
    opt = Optimizer(core=[RMSprop()], decoupled=False)
    chain = opt.transform(0.1, wdecay.L2(1.0), 10)
    assert isinstance(chain.transforms[0], T.AddDecay) and chain.decay[1] is False
    chain = Optimizer(core=[RMSprop()]).transform(0.1, wdecay.L2(1.0), 10)
    assert isinstance(chain.transforms[-1], T.DecayWeights) and chain.decay[1] is True
    assert Optimizer().nielsen and not Optimizer(core=[RMSprop()]).nielsen


def test_lion_declares_decoupled_decay_only():
    with pytest.raises(ValueError, match="ScaleByLion takes decoupled weight decay only"):
        Optimizer(core=[T.scale_by_lion()], decoupled=False)
    with pytest.raises(ValueError, match="decoupled decay only"):
        T.chain(T.add_decay(wdecay.L2(1.0), 10), T.scale_by_lion(), T.scale(-0.1))


def test_a_transform_that_cannot_split_is_refused_where_a_split_is_needed():
    X, y = _data()
    opt = Optimizer(core=[WithoutSplit()], decoupled=False)
    net = wdecay.Network([6, 5, 3], seed=0)
    net.fit(X, y, epochs=1, batch_size=7, eta=0.01, regularizer=wdecay.L2(1.0), optimizer=opt)
    with pytest.raises(ValueError, match="cannot split its step into decay and gradient parts"):
        net.fit(X, y, epochs=1, batch_size=7, eta=0.01, regularizer=wdecay.L2(1.0),
                optimizer=opt, monitors=[M.NormBudget()])


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_train_many_refuses_in_one_line(make):
    X, y = _data()
    with pytest.raises(ValueError, match="plain SGD only") as err:
        train_many(X, y, [dict(eta=0.1, init_seed=0)], sizes=[6, 3], epochs=1, batch_size=5,
                   optimizer=make())
    assert "\n" not in str(err.value)


# -- the elastic net: two settings, no lmbda ---------------------------------------------------

def test_the_elastic_net_has_no_lmbda_and_says_its_settings():
    reg = ElasticNet(1.0, 4.0)
    assert reg.lmbda is None and reg.has_shrink
    with pytest.raises(ValueError, match=r"eta=4.0, n=10\)|eta=4.0,.*n=10"):
        reg.factor(eta=4.0, n=10)  # a = 1 - 4 * 4 / 10 < 0
    X, y = _data()
    net = wdecay.Network([6, 5, 3], seed=0)
    h = net.fit(X, y, epochs=1, batch_size=7, eta=0.01, regularizer=reg,
                monitors=[M.WeightNorms()], seed=0)
    assert h.last("total/penalized") == pytest.approx(reg.penalty(net.weights, 1), rel=1e-12)


@pytest.mark.parametrize("make", [lambda: None, lambda: wdecay.optim.SGD(decoupled=False)],
                         ids=["sgd", "sgd coupled"])
def test_the_elastic_net_trains_in_fit_with_its_step(make):
    """One step of fit with batch = n is w <- (1 - eta l2/n) w - eta (l1/n) sign(w) - eta g."""
    X, y = _data()
    reg = ElasticNet(1.0, 4.0)
    net = wdecay.Network([6, 5, 3], seed=0)
    w0 = [w.copy() for w in net.weights]
    gw, _ = net.backprop(X, np.eye(3)[y])
    gw = [g / len(X) for g in gw]  # the mean gradient of the one full batch
    net.fit(X, y, epochs=1, batch_size=len(X), eta=0.5, regularizer=reg, optimizer=make(), seed=0)
    n, eta = len(X), 0.5
    for w, w1, g in zip(w0, net.weights, gw):
        if make() is None:  # decoupled: factor, then shrink on the scaled weights
            a = (1 - eta * reg.l2 / n) * w
            expected = a - eta * reg.l1 / n * np.sign(a) - eta * g
        else:  # coupled: the penalty's gradient joins g
            expected = w - eta * (g + reg.gradient(w, n))
        np.testing.assert_allclose(w1, expected, rtol=1e-12, atol=1e-14)


def test_the_elastic_net_trains_in_train_many_as_in_fit():
    X, y = _data()
    regs = [ElasticNet(1.0, 4.0), ElasticNet(0.0, 2.0)]
    nets, hs = train_many(X, y, [dict(eta=0.05, regularizer=r, init_seed=1) for r in regs],
                          sizes=[6, 5, 3], epochs=2, batch_size=7, seed=0, backend="numpy",
                          monitors=lambda k: [M.WeightNorms()])
    for reg, net, h in zip(regs, nets, hs):
        alone = wdecay.Network([6, 5, 3], seed=1)
        h1 = alone.fit(X, y, epochs=2, batch_size=7, eta=0.05, regularizer=reg, seed=0,
                       backend="numpy", monitors=[M.WeightNorms()])
        for a, b in zip(net.parameters(), alone.parameters()):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h["total/penalized"], h1["total/penalized"], rtol=1e-10)


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_split_run_with_the_elastic_net_equals_the_whole_run(make):
    X, y = _data()
    kw = dict(batch_size=7, eta=0.01, regularizer=ElasticNet(l1=1.0, l2=4.0), backend="numpy")
    whole = wdecay.Network([6, 5, 3], seed=1)
    h_whole = whole.fit(X, y, epochs=4, seed=np.random.default_rng(3), optimizer=make(),
                        monitors=[M.NormBudget()], **kw)
    rng = np.random.default_rng(3)
    split = wdecay.Network([6, 5, 3], seed=1)
    first_opt, first_budget = make(), M.NormBudget()
    history = split.fit(X, y, epochs=2, seed=rng, optimizer=first_opt, monitors=[first_budget],
                        **kw)
    opt, budget = make(), M.NormBudget()
    opt.load_state_dict(first_opt.state_dict())
    budget.load_state_dict(first_budget.state_dict())
    split.fit(X, y, epochs=2, seed=rng, optimizer=opt, monitors=[budget], history=history,
              reset_optimizer=False, **kw)
    for a, b in zip(whole.parameters(), split.parameters()):
        np.testing.assert_array_equal(a, b)
    for key in h_whole.keys():
        np.testing.assert_array_equal(np.asarray(history[key], float),
                                      np.asarray(h_whole[key], float), err_msg=key)


def test_the_elastic_net_is_summarized_without_a_lmbda():
    from wdecay.experiment import summarize_run
    from wdecay.summary import summary_text

    X, y = _data()
    net, reg = wdecay.Network([6, 5, 3], seed=0), ElasticNet(1.0, 4.0)
    h = net.fit(X, y, epochs=4, batch_size=7, eta=0.05, regularizer=reg,
                monitors=M.diagnostics(), seed=0)
    summary = summarize_run(h, net, regularizer=reg, eta=0.05, batch_size=7, n_train=len(X),
                            seed=0)
    text = summary_text(summary)
    assert summary["settings"]["lmbda"] is None and summary["decay"]
    assert text.startswith("ELASTICNET, eta=0.05, batch 7, 4 epochs")
    assert "--predict" not in text  # the prediction needs a single lmbda
