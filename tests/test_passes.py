"""The one forward/backward pass over a leading network axis equals the pass per network."""

import numpy as np
from strategies import make_data

import wdecay
from wdecay import passes


def test_stacked_networks_equal_one_by_one():
    X, y = make_data([5, 4, 3], 8, 0)
    Y = np.eye(3)[y]
    nets = [wdecay.Network([5, 4, 3], seed=k, activation="relu") for k in range(3)]
    W = [np.stack([n.weights[l] for n in nets]) for l in range(2)]
    B = [np.stack([n.biases[l] for n in nets]) for l in range(2)]
    Xs = np.stack([X] * 3)
    zs, acts = passes.forward(W, B, nets[0].activation, nets[0].cost, Xs)
    gw, gb = passes.backward(W, nets[0].activation, nets[0].cost, zs, acts, Y[None])
    for k, net in enumerate(nets):
        zk, ak = net.forward(X)
        np.testing.assert_allclose(acts[-1][k], ak[-1], rtol=1e-14)
        gwk, gbk = net.backprop(X, Y)
        for a, b in zip([g[k] for g in gw + gb], gwk + gbk):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_on_layer_sees_each_layer_after_the_delta_below_was_taken():
    X, y = make_data([5, 4, 3], 8, 0)
    net = wdecay.Network([5, 4, 3], seed=0)
    zs, acts = net.forward(X)
    seen, grads = [], {}

    def on_layer(layer, delta, a):
        seen.append((layer, delta.shape, a.shape))
        grads[layer] = delta.T @ a
        net.weights[layer][...] = 0.0  # updating in place must not change the pass below

    ref_gw, _ = wdecay.Network([5, 4, 3], seed=0).backprop(X, np.eye(3)[y])
    gw, gb = passes.backward(net.weights, net.activation, net.cost, zs, acts, np.eye(3)[y],
                             on_layer=on_layer)
    assert seen == [(1, (8, 3), (8, 4)), (0, (8, 4), (8, 5))]
    assert gw == [None, None]
    for layer in (0, 1):  # zeroing the weights after each call changed nothing below
        np.testing.assert_allclose(grads[layer], ref_gw[layer], rtol=1e-14)
