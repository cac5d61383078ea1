"""Initializer statistics and draw order."""

import numpy as np

import wdecay
from wdecay.initializers import DefaultWeightInitializer, LargeWeightInitializer


def test_default_weights_have_variance_one_over_fan_in():
    w, b = DefaultWeightInitializer().init([400, 300, 50], np.random.default_rng(0))
    for layer, n_in in zip(w, [400, 300]):
        # 1/sqrt(size) standard error of a sample variance of normal draws is sqrt(2/size)
        assert abs(layer.var() * n_in - 1) < 4 * np.sqrt(2 / layer.size)
        assert abs(layer.mean()) * np.sqrt(n_in) < 4 / np.sqrt(layer.size)
    allb = np.concatenate(b)
    assert abs(allb.var() - 1) < 4 * np.sqrt(2 / allb.size)


def test_large_weights_are_standard_normal():
    w, _ = LargeWeightInitializer().init([400, 300], np.random.default_rng(0))
    assert abs(w[0].var() - 1) < 4 * np.sqrt(2 / w[0].size)


def test_draw_order_is_biases_then_weights_like_network2():
    rng = np.random.default_rng(5)
    b1, b2 = rng.standard_normal(3), rng.standard_normal(2)
    w1 = rng.standard_normal((3, 4))
    net = wdecay.Network([4, 3, 2], initializer="large", seed=np.random.default_rng(5))
    assert np.array_equal(net.biases[0], b1) and np.array_equal(net.biases[1], b2)
    assert np.array_equal(net.weights[0], w1)


def test_shapes_follow_network2_orientation():
    net = wdecay.Network([7, 5, 2])
    assert [w.shape for w in net.weights] == [(5, 7), (2, 5)]
    assert [b.shape for b in net.biases] == [(5,), (2,)]
