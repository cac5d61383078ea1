"""Backprop against central differences for every cost x activation x regularizer."""

import numpy as np
from hypothesis import given
from strategies import activations, costs, layer_sizes, lmbdas, make_data, regularizers, seeds

import wdecay
from wdecay.regularizers import get_regularizer


def regularized_cost(net, X, Y, reg, n):
    zs, acts = net.forward(X)
    return float(np.mean(net.cost.fn(zs[-1], acts[-1], Y))) + reg.penalty(net.weights, n)


@given(sizes=layer_sizes, cost=costs, activation=activations, reg_name=regularizers,
       lmbda=lmbdas, seed=seeds)
def test_backprop_matches_central_differences(sizes, cost, activation, reg_name, lmbda, seed):
    net = wdecay.Network(sizes, cost=cost, activation=activation, seed=seed)
    X, y = make_data(sizes, 7, seed)
    Y = np.eye(sizes[-1])[y]
    n = 50  # training-set size of the penalty, deliberately not len(X)
    reg = get_regularizer(reg_name, lmbda)
    gw, gb = net.backprop(X, Y)
    rng = np.random.default_rng(seed + 1)
    h = 1e-6
    params = net.parameters()
    grads = [g / len(X) + reg.gradient(w, n) for g, w in zip(gw, net.weights)]
    grads += [g / len(X) for g in gb]
    for p, g in zip(params, grads):
        for idx in [tuple(rng.integers(0, s) for s in p.shape) for _ in range(3)]:
            old = p[idx]
            p[idx] = old + h
            up = regularized_cost(net, X, Y, reg, n)
            p[idx] = old - h
            down = regularized_cost(net, X, Y, reg, n)
            p[idx] = old
            numeric = (up - down) / (2 * h)
            # central differences are accurate to ~h^2 * J''' plus rounding ~eps * J / h
            assert abs(numeric - g[idx]) <= 1e-6 * max(1.0, abs(g[idx])), (idx, numeric, g[idx])
