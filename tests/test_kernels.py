"""One kernel interface, one driver: refusals, finiteness, the decay and the lazy scale.

The numpy step (:class:`wdecay.training.Step`), the stacked step
(:class:`wdecay.sweep.Lockstep`) and the compiled epoch
(:class:`wdecay.numba_backend.NumbaEpoch`) each say in one line why they cannot
run a plan; :func:`wdecay.driver.drive` runs ``fit`` and ``train_many`` alike.
"""

import numpy as np
import pytest

import wdecay
from wdecay import monitors as M
from wdecay.driver import Plan, diverged_layer
from wdecay.lazy_scale import FOLD_LIMIT, LazyScale
from wdecay.numba_backend import NumbaEpoch, available
from wdecay.optim import SGD, Adam, Momentum
from wdecay.sweep import Lockstep, train_many
from wdecay.training import Step

KERNELS = [Step, Lockstep, NumbaEpoch]


def data(n=61, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, k, n)


def plan(K=1, regularizer=None, optimizer=None, per_batch=False, activation="sigmoid"):
    X, y = data()
    nets = [wdecay.Network([6, 4, 3], activation=activation, seed=k) for k in range(K)]
    Y = np.eye(3)[y]
    return Plan(nets, X, Y, batch_size=7, etas=[0.1] * K,
                regularizers=[regularizer or wdecay.L2(1.0)] * K,
                optimizer=optimizer or SGD(), per_batch=per_batch)


def one_line(reason, *words):
    assert isinstance(reason, str) and "\n" not in reason, reason
    for word in words:
        assert word in reason, (word, reason)


def test_every_kernel_runs_what_it_can():
    assert Step.refusal(plan()) is None
    assert Lockstep.refusal(plan(K=3)) is None
    if available():
        assert NumbaEpoch.refusal(plan(K=3)) is None


def test_each_refusal_is_one_line_naming_the_reason():
    one_line(Step.refusal(plan(K=2)), "one network", "2")
    one_line(Lockstep.refusal(plan(K=2, optimizer=Adam())), "plain SGD only", "Adam")
    one_line(Lockstep.refusal(plan(per_batch=True)), "per-batch monitors")
    if not available():
        one_line(NumbaEpoch.refusal(plan()), "needs numba")
        return
    one_line(NumbaEpoch.refusal(plan(optimizer=Momentum(0.9))), "plain SGD only", "Momentum")
    one_line(NumbaEpoch.refusal(plan(per_batch=True)), "per-batch monitors")
    one_line(NumbaEpoch.refusal(plan(regularizer=wdecay.L1(1.0))), "shrinks", "L1")
    one_line(NumbaEpoch.refusal(plan(activation="tanh")), "sigmoid")


def test_the_public_calls_refuse_in_one_line():
    X, y = data()
    net = wdecay.Network([6, 4, 3], seed=0)
    with pytest.raises(ValueError, match="no backend can run this sweep: .*plain SGD only") as e:
        train_many(X, y, [dict(eta=0.1)], sizes=[6, 3], epochs=1, batch_size=5,
                   optimizer=Momentum(0.9))
    one_line(str(e.value))
    with pytest.raises(ValueError, match="backend='numpy' cannot run this sweep: .*per-batch"):
        train_many(X, y, [dict(eta=0.1)], sizes=[6, 3], epochs=1, batch_size=5,
                   backend="numpy", monitors=lambda k: [M.NormBudget()])
    if available():
        with pytest.raises(ValueError, match="backend='numba' cannot run this training: "
                                             ".*shrinks") as e:
            net.fit(X, y, epochs=1, batch_size=5, eta=0.1, regularizer=wdecay.L1(1.0),
                    backend="numba")
        one_line(str(e.value))


BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not available(), reason="numba is not installed"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_and_train_many_check_finiteness_the_same_way(backend):
    X, y = data()
    X = X * 1e3
    kw = dict(epochs=4, batch_size=5, backend=backend)
    net = wdecay.Network([6, 8, 3], cost="log-likelihood", initializer="large", seed=0)
    with np.errstate(all="ignore"):
        with pytest.raises(wdecay.TrainingDivergedError) as fitted:
            net.fit(X, y, eta=1e308, seed=4, **kw)
        with pytest.raises(wdecay.TrainingDivergedError) as many:
            train_many(X, y, [dict(eta=1e308, lmbda=0.0, initializer="large", init_seed=0)],
                       sizes=[6, 8, 3], cost="log-likelihood", seed=4, **kw)
    a, b = str(fitted.value), str(many.value)
    assert a.startswith("training diverged in epoch 1: layer ")
    assert b.startswith("network 0 diverged in epoch 1: layer ")
    assert a.split(" diverged ", 1)[1] == b.split(" diverged ", 1)[1]
    assert "try a smaller eta (got eta=1e+308)" in a
    # the history keeps the records before the diverged epoch, the same in both
    assert fitted.value.history["epoch"].tolist() == many.value.history["epoch"].tolist() == [0]


def test_diverged_layer_names_the_first_bad_layer():
    net = wdecay.Network([3, 4, 2], seed=0)
    assert diverged_layer(net) is None
    net.biases[1][0] = np.inf
    assert diverged_layer(net) == 2
    net.weights[0][0, 0] = np.nan
    assert diverged_layer(net) == 1


def steps_by_hand(net, X, y, *, epochs, batch_size, eta, regularizer, seed, optimizer=None):
    """The loop fit ran before the driver: a permutation per epoch, one Step per batch."""
    Y = np.eye(net.sizes[-1])[y]
    step = Step(net, batch_size, eta=eta, n=len(X), regularizer=regularizer,
                optimizer=optimizer)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            step(X, Y, order[start:start + batch_size])
    return net


@pytest.mark.parametrize("optimizer", [None, Adam(), SGD(decoupled=False)], ids=str)
@pytest.mark.parametrize("reg", [wdecay.L2(3.0), wdecay.L1(1.0)], ids=repr)
def test_fit_gives_the_weights_of_the_step_loop_bit_for_bit(reg, optimizer):
    X, y = data()
    kw = dict(epochs=3, batch_size=7, eta=0.1, regularizer=reg, seed=2)
    net = wdecay.Network([6, 4, 3], initializer="large", seed=1)
    net.fit(X, y, optimizer=optimizer, backend="numpy", **kw)
    ref = steps_by_hand(wdecay.Network([6, 4, 3], initializer="large", seed=1), X, y,
                        optimizer=optimizer, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(net.parameters(), ref.parameters()))


def test_train_many_with_one_network_gives_the_weights_of_fit():
    X, y = data()
    config = dict(eta=0.2, lmbda=3.0, initializer="large", init_seed=5)
    kw = dict(epochs=3, batch_size=7, seed=1)
    for backend in ("numpy", "numba") if available() else ("numpy",):
        (net,), _ = train_many(X, y, [config], sizes=[6, 4, 3], backend=backend, **kw)
        ref = wdecay.Network([6, 4, 3], initializer="large", seed=5)
        ref.fit(X, y, eta=0.2, regularizer=wdecay.L2(3.0), backend=backend, **kw)
        for a, b in zip(net.parameters(), ref.parameters()):
            if backend == "numba":  # the same kernel, the same steps
                assert np.array_equal(a, b)
            else:  # lockstep keeps the first layer as s V and stacks the products
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


class CountingL1(wdecay.L1):
    """L1 that counts its decay steps: the kernels must call the regularizer's own decay."""

    calls = 0

    def decay(self, w, eta, n):
        CountingL1.calls += 1
        super().decay(w, eta, n)


@pytest.mark.parametrize("optimizer", [None, Adam(decoupled=True)], ids=str)
def test_the_step_decays_through_the_regularizer(optimizer):
    X, y = data()
    CountingL1.calls = 0
    net = wdecay.Network([6, 4, 3], seed=0)
    net.fit(X, y, epochs=2, batch_size=7, eta=0.1, regularizer=CountingL1(1.0), seed=0,
            optimizer=optimizer)
    assert CountingL1.calls == 2 * 9 * 2  # epochs x steps x layers


def test_lockstep_decays_through_the_regularizer():
    X, y = data()
    CountingL1.calls = 0
    configs = [dict(eta=0.1, regularizer=CountingL1(1.0)), dict(eta=0.1, lmbda=1.0),
               dict(eta=0.2, regularizer=CountingL1(2.0))]
    train_many(X, y, configs, sizes=[6, 4, 3], epochs=2, batch_size=7, seed=0, backend="numpy")
    assert CountingL1.calls == 2 * 9 * 2 * 2  # epochs x steps x layers x L1 networks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_lazy_scale_folds_before_leaving_its_range(dtype):
    V0 = np.ones((2, 1, 1), dtype)
    lazy = LazyScale(V0)
    lazy.factor = np.array([0.5, 1.0], dtype)
    limit = FOLD_LIMIT[dtype]
    steps = 0
    while lazy.scale[0] * 0.5 >= limit:
        lazy.step()
        steps += 1
    assert V0[0, 0, 0] == 1.0 and lazy.scale[0] == 0.5 ** steps
    lazy.step()  # would fall below the limit: folds first
    assert V0[0, 0, 0] == dtype(0.5 ** steps) and lazy.scale[0] == 0.5
    assert V0[1, 0, 0] == 1.0 and lazy.scale[1] == 1.0
    lazy.fold()
    assert V0[0, 0, 0] == dtype(0.5 ** (steps + 1)) and lazy.scale.tolist() == [1.0, 1.0]


def test_no_kernel_writes_the_shrink_itself():
    """The shrink part of the decay step is called only by Regularizer.decay (and the convex
    solvers' own proximal steps are not training kernels)."""
    import pathlib
    import re

    root = pathlib.Path(wdecay.__file__).parent
    for name in ("training.py", "sweep/lockstep.py", "numba_backend.py", "driver.py",
                 "lazy_scale.py", "loop.py", "passes.py"):
        source = (root / name).read_text()
        assert not re.search(r"\.shrink\(", source), name
        assert "np.sign(" not in source, name


def test_train_many_gives_the_weights_of_the_lockstep_loop_bit_for_bit():
    """The loop train_many ran before the driver: one shared order, a stacked step per batch."""
    X, y = data()
    configs = [dict(eta=0.2, lmbda=3.0, regularizer="l2", initializer="large", init_seed=5),
               dict(eta=0.1, lmbda=1.0, regularizer="l1", init_seed=6),
               dict(eta=0.3, lmbda=0.0, regularizer="none", init_seed=7)]
    nets, _ = train_many(X, y, configs, sizes=[6, 4, 3], epochs=3, batch_size=7, seed=1,
                         backend="numpy")
    refs = [wdecay.Network([6, 4, 3], initializer=c.get("initializer", "default"),
                           seed=c["init_seed"]) for c in configs]
    stack = Lockstep(refs)
    stack.set_decay(np.array([c["eta"] for c in configs]),
                    [wdecay.regularizers.get_regularizer(c["regularizer"], c["lmbda"])
                     for c in configs], len(X))
    Y, rng = np.eye(3)[y], np.random.default_rng(1)
    for _ in range(3):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 7):
            idx = order[start:start + 7]
            stack.step(X[idx], Y[idx])
        stack.fold()
    for k, net in enumerate(nets):
        weights, biases = stack.views(k)
        assert all(np.array_equal(a, b) for a, b in zip(net.parameters(), [*weights, *biases]))
