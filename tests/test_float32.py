"""float32 training: stays float32, agrees with float64 to float32 precision, saves and loads."""

import numpy as np
import pytest

import wdecay
from wdecay.sweep import train_many


def data():
    rng = np.random.default_rng(0)
    return rng.random((120, 6)), rng.integers(0, 3, 120)


@pytest.mark.slow
def test_float32_network_trains_in_float32_and_tracks_float64():
    X, y = data()
    nets = {}
    for dtype in (np.float64, np.float32):
        net = wdecay.Network([6, 5, 3], initializer="large", seed=0, dtype=dtype)
        net.fit(X, y, epochs=3, batch_size=7, eta=0.1, regularizer=wdecay.L2(5.0), seed=1)
        nets[dtype] = net
    assert all(p.dtype == np.float32 for p in nets[np.float32].parameters())
    for a, b in zip(nets[np.float32].parameters(), nets[np.float64].parameters()):
        assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(b))


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_float32_lockstep_matches_float32_fit(backend):
    X, y = data()
    configs = [dict(eta=0.1, lmbda=5.0, initializer="large", init_seed=i) for i in range(3)]
    nets, _ = train_many(X, y, configs, sizes=[6, 5, 3], epochs=2, batch_size=7, seed=1,
                         dtype=np.float32, backend=backend)
    for c, net in zip(configs, nets):
        ref = wdecay.Network([6, 5, 3], initializer="large", seed=c["init_seed"], dtype=np.float32)
        ref.fit(X, y, epochs=2, batch_size=7, eta=0.1, regularizer=wdecay.L2(5.0), seed=1)
        for a, b in zip(net.parameters(), ref.parameters()):
            assert a.dtype == np.float32
            assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(b))


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_float32_round_trip(tmp_path, suffix):
    net = wdecay.Network([4, 3], seed=0, dtype=np.float32)
    wdecay.save(net, tmp_path / f"n{suffix}")
    back = wdecay.load(tmp_path / f"n{suffix}")
    assert back.weights[0].dtype == np.float32
    np.testing.assert_array_equal(back.weights[0], net.weights[0])


def test_bad_dtype():
    with pytest.raises(ValueError, match="`dtype` must be float64 or float32"):
        wdecay.Network([2, 2], dtype=np.int64)


@pytest.mark.slow
def test_float32_seed_experiment_accuracy_effect_is_small():
    """Documented in docs/sweeps.rst: on the embedded sample float32 changes little."""
    from wdecay.datasets import load_mnist_sample

    (X, y), (Xv, yv), _ = load_mnist_sample()
    acc = {}
    for dtype in (np.float64, np.float32):
        net = wdecay.Network([784, 30, 10], initializer="large", seed=0, dtype=dtype)
        h = net.fit(X, y, epochs=10, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
                    evaluation_data=(Xv, yv), seed=0)
        acc[dtype] = h["eval/accuracy"][-1]
    assert abs(acc[np.float32] - acc[np.float64]) <= 0.01
