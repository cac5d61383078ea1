"""Network: structure, validation, and its forward/backward as thin calls into wdecay.passes."""

import numpy as np
import pytest
from strategies import make_data

import wdecay
from wdecay import passes
from wdecay.network import EVAL_CHUNK


def test_sizes_and_dtype_are_validated():
    for bad in ([3], "784", [3, 0], [3, 2.5], [True, 2]):
        with pytest.raises(ValueError, match="`sizes`"):
            wdecay.Network(bad)
    with pytest.raises(ValueError, match="`dtype` must be float64 or float32"):
        wdecay.Network([3, 2], dtype=np.int64)


def test_structure_and_copy():
    net = wdecay.Network([4, 3, 2], seed=0, dtype=np.float32)
    assert [w.shape for w in net.weights] == [(3, 4), (2, 3)]
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert all(w.flags.c_contiguous for w in net.weights)  # the fused step needs W.T Fortran
    assert net.n_weights == 18 and net.num_layers == 3
    other = net.copy()
    other.weights[0][0, 0] += 1
    assert other.weights[0][0, 0] != net.weights[0][0, 0]
    assert repr(net).startswith("Network(sizes=[4, 3, 2]")
    assert not hasattr(net, "total_cost")


def test_forward_and_backprop_are_the_passes():
    X, y = make_data([4, 3, 2], 9, 0)
    Y = np.eye(2)[y]
    net = wdecay.Network([4, 3, 2], activation="tanh", cost="quadratic", seed=0)
    zs, acts = net.forward(X)
    zs2, acts2 = passes.forward(net.weights, net.biases, net.activation, net.cost, X)
    for a, b in zip(zs + acts, zs2 + acts2):
        np.testing.assert_array_equal(a, b)
    gw, gb = net.backprop(X, Y)
    gw2, gb2 = passes.backward(net.weights, net.activation, net.cost, zs, acts, Y)
    for a, b in zip(gw + gb, gw2 + gb2):
        np.testing.assert_array_equal(a, b)
    # summed over rows: the gradient of 9 rows is the sum of the 9 one-row gradients
    single = [net.backprop(X[i:i + 1], Y[i:i + 1]) for i in range(9)]
    np.testing.assert_allclose(gw[0], sum(s[0][0] for s in single), rtol=1e-12)


def test_feedforward_in_chunks_equals_one_pass():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((EVAL_CHUNK + 5, 3))
    net = wdecay.Network([3, 2], seed=0)
    np.testing.assert_allclose(net.feedforward(X), net.forward(X)[1][-1], rtol=1e-15)
    assert net.predict(X[:4]).shape == (4,)
    assert 0.0 <= net.accuracy(X[:10], np.zeros(10, int)) <= 1.0
