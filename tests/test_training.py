"""The vectorized SGD step against the per-example reference, determinism, divergence."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import train as reference_train
from strategies import activations, costs, make_data, seeds

import wdecay
from wdecay.regularizers import get_regularizer


def rel_diff(a, b):
    return max(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300) for x, y in zip(a, b))


@settings(max_examples=25)
@given(cost=costs, activation=activations, penalty=st.sampled_from(["l2", "l1", "none"]),
       batch=st.integers(1, 9), seed=seeds, backend=st.sampled_from(["numpy", "auto"]))
def test_vectorized_step_agrees_with_per_example_reference(cost, activation, penalty, batch,
                                                           seed, backend):
    """Both backends ("auto" runs the numba kernel where it is installed and applies)."""
    sizes = [5, 4, 3]
    X, y = make_data(sizes, 23, seed)  # 23 is prime: every batch > 1 leaves a short last one
    net = wdecay.Network(sizes, cost=cost, activation=activation, initializer="large", seed=seed)
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    net.fit(X, y, epochs=2, batch_size=batch, eta=0.1,
            regularizer=get_regularizer(penalty, 5.0), seed=seed, backend=backend)
    ref_w, ref_b = reference_train(w0, b0, X, np.eye(3)[y], epochs=2, batch_size=batch,
                                   eta=0.1, lmbda=5.0, penalty=penalty, cost=cost,
                                   act=activation, seed=seed)
    assert rel_diff(net.weights, ref_w) <= 1e-12
    assert rel_diff(net.biases, ref_b) <= 1e-12


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_update_rule_by_hand_one_step(backend):
    """One full-batch step equals w(1 - eta lmbda/n) - eta * mean gradient; biases undecayed."""
    net = wdecay.Network([3, 2], seed=1)
    X, y = make_data([3, 2], 4, 2)
    w, b = net.weights[0].copy(), net.biases[0].copy()
    gw, gb = net.backprop(X, np.eye(2)[y])
    net.fit(X, y, epochs=1, batch_size=4, eta=0.5, regularizer=wdecay.L2(2.0), seed=0,
            backend=backend)
    np.testing.assert_allclose(net.weights[0], (1 - 0.5 * 2.0 / 4) * w - 0.5 * gw[0] / 4,
                               rtol=1e-14)
    np.testing.assert_allclose(net.biases[0], b - 0.5 * gb[0] / 4, rtol=1e-14)


def test_same_seed_gives_bitwise_identical_weights():
    X, y = make_data([6, 4, 3], 40, 0)
    nets = []
    for _ in range(2):
        net = wdecay.Network([6, 4, 3], seed=7)
        net.fit(X, y, epochs=3, batch_size=7, eta=0.3, regularizer=wdecay.L2(1.0), seed=11)
        nets.append(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert np.array_equal(a, b)
    other = wdecay.Network([6, 4, 3], seed=7)
    other.fit(X, y, epochs=3, batch_size=7, eta=0.3, regularizer=wdecay.L2(1.0), seed=12)
    assert not np.array_equal(other.weights[0], nets[0].weights[0])


def test_one_hot_and_integer_labels_train_identically():
    X, y = make_data([4, 3], 20, 3)
    a, b = wdecay.Network([4, 3], seed=0), wdecay.Network([4, 3], seed=0)
    a.fit(X, y, epochs=2, batch_size=3, eta=0.2, seed=1)
    b.fit(X, np.eye(3)[y], epochs=2, batch_size=3, eta=0.2, seed=1)
    assert np.array_equal(a.weights[0], b.weights[0])


def test_training_does_not_copy_or_modify_data():
    X, y = make_data([4, 3], 20, 3)
    X0 = X.copy()
    wdecay.Network([4, 3], seed=0).fit(X, y, epochs=1, batch_size=3, eta=0.2)
    assert np.array_equal(X, X0)


def test_divergence_names_the_epoch_and_suggests_smaller_eta():
    X, y = make_data([4, 8, 3], 30, 0)
    X *= 1e3
    net = wdecay.Network([4, 8, 3], activation="relu", cost="log-likelihood", seed=0)
    with pytest.raises(FloatingPointError, match=r"epoch \d+.*smaller eta") as info:
        with np.errstate(all="ignore"):
            net.fit(X, y, epochs=50, batch_size=5, eta=1e6, seed=0)
    assert len(info.value.history) >= 1


def test_history_starts_at_epoch_zero_and_continues():
    X, y = make_data([4, 3], 20, 3)
    net = wdecay.Network([4, 3], seed=0)
    h = net.fit(X, y, epochs=2, batch_size=5, eta=0.1, evaluation_data=(X, y))
    assert list(h["epoch"]) == [0, 1, 2]
    net.fit(X, y, epochs=2, batch_size=5, eta=0.1, evaluation_data=(X, y), history=h)
    assert list(h["epoch"]) == [0, 1, 2, 3, 4]
    assert np.all((h["eval/accuracy"] >= 0) & (h["eval/accuracy"] <= 1))


def test_zero_epochs_records_initial_state_only():
    X, y = make_data([4, 3], 20, 3)
    net = wdecay.Network([4, 3], seed=0)
    w = net.weights[0].copy()
    h = net.fit(X, y, epochs=0, batch_size=5, eta=0.1)
    assert len(h) == 1 and np.array_equal(w, net.weights[0])


@pytest.mark.slow
def test_seed_experiment_on_embedded_sample_learns():
    """The seed settings reach well above chance on real digits (measured 0.91 in 30 epochs)."""
    from wdecay.datasets import load_mnist_sample

    (X, y), (Xv, yv), _ = load_mnist_sample()
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    h = net.fit(X, y, epochs=5, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
                evaluation_data=(Xv, yv), seed=0)
    assert h["eval/accuracy"][-1] > 0.7


def test_fused_step_agrees_with_the_separate_path():
    """The fused gemm changes only the summation order: ~1e-13 relative after 3 epochs."""
    from wdecay import monitors as M
    X, y = make_data([8, 6, 3], 101, 0)
    nets = []
    for mons in ([], [M.LambdaMonitor(on_batch_end=lambda s: None)]):  # per batch: separate
        net = wdecay.Network([8, 6, 3], seed=1)
        net.fit(X, y, epochs=3, batch_size=10, eta=0.5, regularizer=wdecay.L2(5.0), seed=2,
                monitors=mons)
        nets.append(net)
    assert rel_diff(nets[0].parameters(), nets[1].parameters()) <= 1e-13


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_step_is_in_place_and_allocates_nothing(dtype):
    import tracemalloc

    from wdecay.training import Step
    X, y = make_data([30, 20, 10], 200, 0)
    X = X.astype(dtype)
    Y = np.eye(10, dtype=dtype)[y]
    net = wdecay.Network([30, 20, 10], seed=0, dtype=dtype)
    arrays = [id(p) for p in net.parameters()]
    step = Step(net, 10, eta=0.1, n=200, regularizer=wdecay.L2(5.0))
    assert step.fused
    w0 = net.weights[0].copy()
    idx = np.arange(10)
    step(X, Y, idx)  # warm the per-size caches
    tracemalloc.start()
    for _ in range(50):
        step(X, Y, idx)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4096, peak  # not one array: a 30x20 float64 temporary alone is 4800 bytes
    assert [id(p) for p in net.parameters()] == arrays
    assert not np.array_equal(net.weights[0], w0)


@pytest.mark.slow
def test_fit_uses_x_in_place_when_its_dtype_matches():
    from wdecay import monitors as M
    X, y = make_data([4, 3], 30, 0)
    seen = []
    grab = M.LambdaMonitor(on_train_begin=lambda s: seen.append(s.train_data[0]))
    wdecay.Network([4, 3]).fit(X, y, epochs=1, batch_size=5, eta=0.1, monitors=grab)
    assert np.shares_memory(seen[-1], X)
    X32 = X.astype(np.float32)
    wdecay.Network([4, 3], dtype=np.float32).fit(X32, y, epochs=1, batch_size=5, eta=0.1,
                                                monitors=[grab])
    assert np.shares_memory(seen[-1], X32)


def test_train_many_uses_x_in_place_when_its_dtype_matches():
    from wdecay import monitors as M
    from wdecay.sweep import train_many
    X, y = make_data([4, 3], 30, 0)
    seen = []
    train_many(X, y, [dict(eta=0.1)], sizes=[4, 3], epochs=1, batch_size=5,
               monitors=lambda k: [M.LambdaMonitor(
                   on_train_begin=lambda s: seen.append(s.train_data[0]))])
    assert np.shares_memory(seen[-1], X)


def test_fit_lmbda_points_to_the_regularizer():
    X, y = make_data([4, 3], 30, 0)
    with pytest.raises(TypeError, match=r"regularizer=wdecay\.L2\(5\.0\)"):
        wdecay.Network([4, 3]).fit(X, y, epochs=1, batch_size=5, eta=0.1, lmbda=5.0)
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['epoch'\\]"):
        wdecay.fit(wdecay.Network([4, 3]), X, y, epochs=1, batch_size=5, eta=0.1, epoch=3)


def test_a_single_monitor_works():
    from wdecay import monitors as M
    X, y = make_data([4, 3], 30, 0)
    h = wdecay.Network([4, 3]).fit(X, y, epochs=1, batch_size=5, eta=0.1,
                                   monitors=M.WeightNorms())
    assert "layer1/fro" in h.keys()


def test_which_update_path():
    """Fused for SGD with a factor-only decay; separate for a shrink or per-batch monitors."""
    from wdecay.optim import Adam
    from wdecay.training import Step
    net = wdecay.Network([4, 3], seed=0)
    kw = dict(eta=0.1, n=20)
    assert Step(net, 5, regularizer=wdecay.L2(5.0), **kw).fused  # the path the reference test runs
    assert Step(net, 5, regularizer=wdecay.NoRegularizer(), **kw).fused
    assert not Step(net, 5, regularizer=wdecay.L1(5.0), **kw).fused
    assert not Step(net, 5, regularizer=wdecay.L2(5.0), record=True, **kw).fused
    assert not Step(net, 5, regularizer=wdecay.L2(5.0), optimizer=Adam(), **kw).fused


def test_step_call_takes_rows_of_array_likes_too():
    """Step(X, Y, idx) gathers from lists as from arrays (np.take's path), to the same result."""
    from wdecay.training import Step
    X, y = make_data([4, 3], 12, 0)
    Y = np.eye(3)[y]
    nets = [wdecay.Network([4, 3], seed=0) for _ in range(2)]
    for net, (Xs, Ys) in zip(nets, [(X, Y), (X.tolist(), Y.tolist())]):
        step = Step(net, 5, eta=0.3, n=12, regularizer=wdecay.L2(1.0))
        step(Xs, Ys, np.array([0, 5, 7, 2, 11]))
        step(Xs, Ys, np.array([3, 1]))
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_array_equal(a, b)
