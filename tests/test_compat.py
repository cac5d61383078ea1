"""wdecay.compat.network2 against a per-example implementation of network2's semantics."""

import gzip
import pickle
import random
import textwrap

import numpy as np
import pytest
from network2_reference import Ref

import wdecay
from wdecay.compat import mnist_loader, network2


def make_data(n, n_eval, d=12, seed=0):
    rng = np.random.default_rng(seed)
    # A learnable problem: the label is the argmax of a fixed projection of x.
    proj = rng.standard_normal((10, d))
    X = rng.random((n + n_eval, d))
    y = np.argmax(X @ proj.T, axis=1)
    train = [(x.reshape(-1, 1), np.eye(10)[:, [t]]) for x, t in zip(X[:n], y[:n])]
    evaluation = [(x.reshape(-1, 1), int(t)) for x, t in zip(X[n:], y[n:])]
    return train, evaluation


def run_both(sizes, epochs, m, eta, lmbda, early_stopping_n=0, quadratic=False, large=True):
    train, evaluation = make_data(23, 11, d=sizes[0])
    random.seed(1)
    np.random.seed(2)
    ref = Ref(sizes, quadratic=quadratic)
    if large:
        ref.init(scaled=False)
    ref_out = ref.SGD(train, epochs, m, eta, lmbda, evaluation, early_stopping_n)
    random.seed(1)
    np.random.seed(2)
    cost = network2.QuadraticCost if quadratic else network2.CrossEntropyCost
    net = network2.Network(sizes, cost=cost)
    if large:
        net.large_weight_initializer()
    out = net.SGD(iter(train), epochs, m, eta, lmbda=lmbda, evaluation_data=evaluation,
                  monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                  monitor_training_cost=True, monitor_training_accuracy=True,
                  early_stopping_n=early_stopping_n)
    return ref, ref_out, net, out


def assert_agree(ref, ref_out, net, out):
    for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
        assert a.shape == b.shape and np.max(np.abs(a - b)) <= 1e-9
    ec, ea, tc, ta = out
    rec, rea, rtc, rta = ref_out
    assert ea == rea and ta == rta
    assert all(isinstance(v, int) for v in ea + ta)
    np.testing.assert_allclose(ec, rec, rtol=1e-9)
    np.testing.assert_allclose(tc, rtc, rtol=1e-9)


@pytest.mark.parametrize("quadratic", [False, True])
def test_compat_agrees_with_per_example_network2(quadratic, capsys):
    # 23 examples, batch 5: the last batch has 3. Three epochs, eta 0.1, lmbda 5.
    ref, ref_out, net, out = run_both([12, 7, 10], 3, 5, 0.1, 5.0, quadratic=quadratic)
    assert_agree(ref, ref_out, net, out)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == ["Epoch 0 training complete",
                         f"Cost on training data: {out[2][0]}",
                         f"Accuracy on training data: {out[3][0]} / 23",
                         f"Cost on evaluation data: {out[0][0]}",
                         f"Accuracy on evaluation data: {out[1][0]} / 11"]


def test_early_stopping_agrees_and_stops(capsys):
    ref, ref_out, net, out = run_both([12, 7, 10], 40, 5, 0.1, 5.0, early_stopping_n=2)
    assert_agree(ref, ref_out, net, out)
    assert len(out[1]) < 40  # it stopped early


def test_default_initializer_draws_biases_then_weights():
    np.random.seed(3)
    b = [np.random.randn(4, 1), np.random.randn(10, 1)]
    w = np.random.randn(4, 6) / np.sqrt(6)
    np.random.seed(3)
    net = network2.Network([6, 4, 10])
    assert np.array_equal(net.biases[0], b[0]) and np.array_equal(net.weights[0], w)


def test_total_cost_book_arithmetic_and_port_bug_flag():
    train, evaluation = make_data(8, 5)
    np.random.seed(0)
    net = network2.Network([12, 5, 10])
    ref = Ref([12, 5, 10])
    ref.weights, ref.biases = net.weights, net.biases
    assert net.total_cost(evaluation, 5.0, convert=True) == pytest.approx(
        ref.total_cost(evaluation, 5.0, convert=True), rel=1e-12)
    term = 0.5 * (5.0 / 8) * sum(np.linalg.norm(w) ** 2 for w in net.weights)
    book = net.total_cost(train, 5.0)
    net.port_total_cost_bug = True
    assert net.total_cost(train, 5.0) == pytest.approx(book + 7 * term, rel=1e-12)


def test_saturated_cross_entropy_contributes_max_float_not_inf():
    a, y = np.array([[1.0], [0.0]]), np.array([[0.0], [0.0]])
    assert network2.CrossEntropyCost.fn(a, y) == np.finfo(float).max


def test_save_load_and_bridges(tmp_path):
    np.random.seed(0)
    net = network2.Network([5, 3, 10], cost=network2.QuadraticCost)
    net.save(tmp_path / "n.json")
    back = network2.load(tmp_path / "n.json")
    assert back.cost is network2.QuadraticCost
    assert all(np.array_equal(a, b) for a, b in zip(back.weights, net.weights))
    modern = net.to_wdecay()
    assert isinstance(modern, wdecay.Network) and modern.cost.name == "quadratic"
    x = np.random.default_rng(0).random((5, 1))
    np.testing.assert_allclose(modern.feedforward(x.T).T, net.feedforward(x), rtol=1e-14)
    state = np.random.get_state()[1].copy()
    again = network2.from_wdecay(modern)
    assert np.array_equal(np.random.get_state()[1], state)  # no draws
    np.testing.assert_array_equal(again.biases[1], net.biases[1])
    assert wdecay.load(tmp_path / "n.json").sizes == [5, 3, 10]  # wdecay reads network2 files


def make_pickle(path, sizes=(200, 50, 50)):
    rng = np.random.default_rng(0)
    parts = tuple((rng.random((n, 784)).astype(np.float32), rng.integers(0, 10, n))
                  for n in sizes)
    with gzip.open(path, "wb") as fh:
        pickle.dump(parts, fh, protocol=2)


def test_loader_returns_reusable_lists_and_explains_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_mnist"):
        mnist_loader.load_data_wrapper(tmp_path / "missing.pkl.gz")
    make_pickle(tmp_path / "m.pkl.gz")
    tr, va, te = mnist_loader.load_data_wrapper(tmp_path / "m.pkl.gz")
    assert isinstance(tr, list) and len(tr) == 200 and len(list(va)) == len(list(va)) == 50
    assert tr[0][0].shape == (784, 1) and tr[0][1].shape == (10, 1)


SEED_SCRIPT = textwrap.dedent("""
    from wdecay.compat import network2, mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    net.SGD(training_data, 2, 10, 0.1, lmbda=5.0, evaluation_data=validation_data,
            monitor_evaluation_accuracy=True)
""")


def test_seed_script_runs_with_only_its_import_changed(tmp_path, monkeypatch, capsys):
    make_pickle(tmp_path / "mnist.pkl.gz")
    monkeypatch.chdir(tmp_path)
    exec(compile(SEED_SCRIPT, "seed_script.py", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 0 training complete"
    assert lines[1].startswith("Accuracy on evaluation data: ") and lines[1].endswith(" / 50")
    assert lines[3].startswith("Accuracy on evaluation data: ")
